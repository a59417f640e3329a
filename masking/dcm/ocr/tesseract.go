//go:build ocr

package ocr

import (
	"context"
	"fmt"
	"image"
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
// width x height): word boxes, never whole lines, so that a mask covers
// the text and nothing of the image around it. It returns an error when
// recognition fails.
//
// Burned-in annotations are light text on a dark image; Tesseract reads
// dark text on a light page best. Several passes are read and their words
// united, each raising recall where the others miss: the image stretched
// between its 1st and 99.5th percentiles and inverted (any text brighter
// than its surroundings), its brightest pixels (above the 97th percentile)
// as black on white (small bright text on bright anatomy), and the latter
// turned by 90 and 270 degrees (vertical labels). Images narrower than
// 1024 pixels are read at twice their size (small fonts).
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
	lo, hi, top := percentiles(gray)
	inverted := func(v byte) byte { return 255 - stretch(v, lo, hi) }
	bright := func(v byte) byte {
		if v >= top && top > lo {
			return 0
		}
		return 255
	}
	passes := []struct {
		tone func(byte) byte
		turn int
	}{{inverted, 0}, {bright, 0}}
	if !f.cfg.NoRotation {
		passes = append(passes, struct {
			tone func(byte) byte
			turn int
		}{inverted, 90}, struct {
			tone func(byte) byte
			turn int
		}{inverted, 270})
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
	var out []masking.Box
	for _, p := range passes {
		boxes, err := f.read(ctx, c, gray, width, height, scale, p.tone, p.turn)
		if err != nil {
			return nil, err
		}
		for _, b := range boxes {
			if min(b.X1-b.X0, b.Y1-b.Y0) >= minGlyph && strokes(gray, width, b, lo, hi) {
				out = append(out, b)
			}
		}
	}
	return out, nil
}

// strokes reports whether box b of gray holds glyph strokes: at least 4%
// of its pixels on a sharp edge (a horizontal step of a quarter of the
// image's contrast, at least 24 levels). Tesseract reads words in the
// smooth gradients and organ outlines of anatomy; rendered text is drawn
// with sharp edges. Speckle passes this test: a box is then masked (fail
// closed), never dropped for want of a reading.
func strokes(gray []byte, width int, b masking.Box, lo, hi byte) bool {
	step := max(24, (int(hi)-int(lo))/4)
	var n, sharp int
	for y := b.Y0; y < b.Y1; y++ {
		row := gray[y*width : (y+1)*width]
		for x := max(1, b.X0); x < b.X1 && x < width; x++ {
			n++
			if d := int(row[x]) - int(row[x-1]); d >= step || d <= -step {
				sharp++
			}
		}
	}
	return n > 0 && sharp*25 >= n
}

// minGlyph is the smallest side, in pixels, of a word box taken for text:
// Tesseract reports specks of anatomy as tiny words; no legible glyph is
// smaller.
const minGlyph = 5

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

// read recognizes words in one rendering of the image, scaled by scale and
// turned counter-clockwise by turn degrees (0, 90 or 270), and returns
// their boxes in the coordinates of gray.
func (f *Finder) read(ctx context.Context, c *gosseract.Client, gray []byte, width, height, scale int, tone func(byte) byte, turn int) ([]masking.Box, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sw, sh := width*scale, height*scale
	ow, oh := sw, sh
	if turn != 0 {
		ow, oh = sh, sw
	}
	// A binary PGM: Leptonica reads it without decompression.
	hdr := fmt.Sprintf("P5\n%d %d\n255\n", ow, oh)
	buf := make([]byte, len(hdr)+ow*oh)
	copy(buf, hdr)
	pix := buf[len(hdr):]
	for y := 0; y < sh; y++ {
		row := gray[(y/scale)*width:]
		for x := 0; x < sw; x++ {
			v := tone(row[x/scale])
			switch turn {
			case 90: // (x, y) -> (y, sw-1-x)
				pix[(sw-1-x)*ow+y] = v
			case 270: // (x, y) -> (sh-1-y, x)
				pix[x*ow+sh-1-y] = v
			default:
				pix[y*ow+x] = v
			}
		}
	}
	if err := c.SetImageFromBytes(buf); err != nil {
		return nil, fmt.Errorf("ocr: set image: %w", err)
	}
	words, err := c.GetBoundingBoxes(gosseract.RIL_WORD)
	if err != nil {
		return nil, fmt.Errorf("ocr: recognize: %w", err)
	}
	// Words read with the configured confidence are text; a word read with
	// less is taken when it continues the line of one taken (same height,
	// level with it, at most two heights away): OCR often reads a name
	// with confidence and the next word of the line without.
	var taken, weak []image.Rectangle
	for _, w := range words {
		if !hasAlnum(w.Word) || w.Box.Empty() {
			continue
		}
		if w.Confidence >= f.cfg.MinConfidence {
			taken = append(taken, w.Box)
		} else {
			weak = append(weak, w.Box)
		}
	}
	for grown := true; grown; {
		grown = false
		for i := 0; i < len(weak); i++ {
			for _, t := range taken {
				if sameLine(t, weak[i]) {
					taken = append(taken, weak[i])
					weak = append(weak[:i], weak[i+1:]...)
					i--
					grown = true
					break
				}
			}
		}
	}
	var out []masking.Box
	for _, r := range taken {
		switch turn { // back to the unturned, scaled image
		case 90:
			r = image.Rect(sw-r.Max.Y, r.Min.X, sw-r.Min.Y, r.Max.X)
		case 270:
			r = image.Rect(r.Min.Y, sh-r.Max.X, r.Max.Y, sh-r.Min.X)
		}
		out = append(out, masking.Box{X0: r.Min.X / scale, Y0: r.Min.Y / scale,
			X1: (r.Max.X + scale - 1) / scale, Y1: (r.Max.Y + scale - 1) / scale})
	}
	return out, nil
}

// sameLine reports whether word w continues the line of word t: at most
// half again as tall, overlapping it vertically by half its height, and
// at most two heights away horizontally.
func sameLine(t, w image.Rectangle) bool {
	h := t.Dy()
	if w.Dy()*2 > 3*h {
		return false
	}
	overlap := min(t.Max.Y, w.Max.Y) - max(t.Min.Y, w.Min.Y)
	if overlap*2 < min(h, w.Dy()) {
		return false
	}
	gap := max(w.Min.X-t.Max.X, t.Min.X-w.Max.X)
	return gap <= 2*h
}

func hasAlnum(s string) bool {
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return true
		}
	}
	return false
}
