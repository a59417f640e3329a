//go:build ocr

package ocr

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"strings"
	"unicode"

	"github.com/otiai10/gosseract/v2"

	"hdw/masking"
)

// Finder locates words with Tesseract. It is safe for concurrent use: each
// call uses its own Tesseract client.
type Finder struct{ cfg Config }

var _ masking.TextFinder = (*Finder)(nil)

// New returns a Tesseract-backed Finder. It fails when the Tesseract
// library or its language data cannot be loaded.
func New(cfg Config) (*Finder, error) {
	if cfg.Languages == "" {
		cfg.Languages = "eng"
	}
	if cfg.MinConfidence == 0 {
		cfg.MinConfidence = 40
	}
	c := gosseract.NewClient()
	defer c.Close()
	if err := c.SetLanguage(strings.Split(cfg.Languages, "+")...); err != nil {
		return nil, fmt.Errorf("ocr: set language: %w", err)
	}
	return &Finder{cfg: cfg}, nil
}

// FindText returns the boxes of the words Tesseract recognizes with at
// least the configured confidence, in the coordinates of gray (8-bit,
// width x height). It returns an error when recognition fails.
func (f *Finder) FindText(ctx context.Context, gray []byte, width, height int) ([]masking.Box, error) {
	if len(gray) != width*height || width <= 0 || height <= 0 {
		return nil, fmt.Errorf("ocr: image of %d bytes is not %dx%d", len(gray), width, height)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	scale := f.cfg.Scale
	if scale <= 0 {
		scale = 2
		if width >= 1024 {
			scale = 1
		}
	}
	// Burned-in annotations are light text on a dark image; Tesseract reads
	// dark text on a light page best. Two renderings are read: the image
	// stretched between its 1st and 99.5th percentiles and inverted, and
	// its brightest pixels (above the 97th percentile) as black on white.
	lo, hi, top := percentiles(gray)
	var out []masking.Box
	for _, variant := range []func(v byte) byte{
		func(v byte) byte { return 255 - stretch(v, lo, hi) },
		func(v byte) byte {
			if v >= top && top > lo {
				return 0
			}
			return 255
		},
	} {
		boxes, err := f.read(ctx, gray, width, height, scale, variant)
		if err != nil {
			return nil, err
		}
		out = append(out, boxes...)
	}
	return out, nil
}

func percentiles(gray []byte) (lo, hi, top byte) {
	var hist [256]int
	for _, v := range gray {
		hist[v]++
	}
	at := func(q float64) byte {
		n, want := 0, int(q*float64(len(gray)))
		for v := 0; v < 256; v++ {
			n += hist[v]
			if n > want {
				return byte(v)
			}
		}
		return 255
	}
	return at(0.01), at(0.995), at(0.97)
}

func stretch(v, lo, hi byte) byte {
	switch {
	case hi <= lo:
		return v
	case v <= lo:
		return 0
	case v >= hi:
		return 255
	}
	return byte(int(v-lo) * 255 / int(hi-lo))
}

// read recognizes words in one rendering of the image.
func (f *Finder) read(ctx context.Context, gray []byte, width, height, scale int, tone func(byte) byte) ([]masking.Box, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	img := image.NewGray(image.Rect(0, 0, width*scale, height*scale))
	for y := 0; y < height*scale; y++ {
		row := gray[(y/scale)*width:]
		for x := 0; x < width*scale; x++ {
			img.Pix[y*img.Stride+x] = tone(row[x/scale])
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("ocr: encode: %w", err)
	}
	c := gosseract.NewClient()
	defer c.Close()
	if err := c.SetLanguage(strings.Split(f.cfg.Languages, "+")...); err != nil {
		return nil, fmt.Errorf("ocr: set language: %w", err)
	}
	// Sparse text: burned-in annotations are scattered labels.
	if err := c.SetPageSegMode(gosseract.PSM_SPARSE_TEXT); err != nil {
		return nil, fmt.Errorf("ocr: page segmentation: %w", err)
	}
	if err := c.SetImageFromBytes(buf.Bytes()); err != nil {
		return nil, fmt.Errorf("ocr: set image: %w", err)
	}
	words, err := c.GetBoundingBoxes(gosseract.RIL_WORD)
	if err != nil {
		return nil, fmt.Errorf("ocr: recognize: %w", err)
	}
	// A trusted word stands for its whole text line: OCR often reads only
	// some words of a burned-in line, but finds the line's extent.
	lines, err := c.GetBoundingBoxes(gosseract.RIL_TEXTLINE)
	if err != nil {
		return nil, fmt.Errorf("ocr: layout: %w", err)
	}
	var out []masking.Box
	used := map[int]bool{}
	for _, w := range words {
		if w.Confidence < f.cfg.MinConfidence || !hasAlnum(w.Word) {
			continue
		}
		r := w.Box
		c := r.Min.Add(r.Max).Div(2)
		for i, l := range lines {
			if c.In(l.Box) && l.Box.Dy() <= 3*r.Dy() {
				if used[i] {
					r = image.Rectangle{}
					break
				}
				used[i] = true
				r = r.Union(l.Box)
				break
			}
		}
		if r.Empty() {
			continue
		}
		out = append(out, masking.Box{X0: r.Min.X / scale, Y0: r.Min.Y / scale,
			X1: (r.Max.X + scale - 1) / scale, Y1: (r.Max.Y + scale - 1) / scale})
	}
	return out, nil
}

func hasAlnum(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return true
		}
	}
	return false
}
