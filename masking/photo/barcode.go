package photo

import (
	"errors"
	"image"
	"math/bits"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/datamatrix"
	mqr "github.com/makiuchi-d/gozxing/multi/qrcode"
	"github.com/makiuchi-d/gozxing/oned"
)

// maxBarcodes bounds the barcodes looked for in one photo (each found one
// is blanked in a working copy and the search starts again).
const maxBarcodes = 16

// barcodes returns the regions of the QR codes, Data Matrix codes and 1D
// barcodes (Code 128, Code 39, Code 93, Codabar, EAN-8/13, UPC-A/E, ITF)
// that gozxing decodes in g (w x h, 8-bit grey), padded by their quiet
// zone: wristbands and specimen labels encode the patient number
// (SEC-PSE-4). A code that does not decode is not found.
func barcodes(g []byte, w, h int) []image.Rectangle {
	return findCodes(g, w, h, newGrayLuminance, oneD(true))
}

// findCodes is barcodes with the luminance source and the 1D reader
// given: TestBarcodesMatchGozxing compares it with gozxing's own image
// source and a 1D reader without the run count, box for box.
func findCodes(g []byte, w, h int, source func(*image.Gray) gozxing.LuminanceSource, oneDReader gozxing.Reader) []image.Rectangle {
	work := image.NewGray(image.Rect(0, 0, w, h))
	copy(work.Pix, g)
	hints := map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true}
	var out []image.Rectangle
	// One bitmap (luminance source, binarizer and its cached matrix) serves
	// every reader, as zxing's MultiFormatReader shares one, until a found
	// code is blanked: building it per reader was a third of the pass.
	var bm *gozxing.BinaryBitmap
	blank := func(r image.Rectangle) {
		r = r.Intersect(work.Bounds())
		for y := r.Min.Y; y < r.Max.Y; y++ {
			row := work.Pix[y*w : (y+1)*w]
			for x := r.Min.X; x < r.Max.X; x++ {
				row[x] = 128
			}
		}
		bm = nil
	}
	bitmap := func() *gozxing.BinaryBitmap {
		if bm == nil {
			bm, _ = gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(source(work)))
		}
		return bm
	}
	// 2D codes: every QR code at once, then Data Matrix one at a time.
	if bm := bitmap(); bm != nil {
		if rs, err := mqr.NewQRCodeMultiReader().DecodeMultiple(bm, hints); err == nil {
			for _, r := range rs {
				box := square(r.GetResultPoints())
				out = append(out, box)
				blank(box)
			}
		}
	}
	readers := []gozxing.Reader{datamatrix.NewDataMatrixReader(), oneDReader}
	for _, rd := range readers {
		for len(out) < maxBarcodes {
			bm := bitmap()
			if bm == nil {
				break
			}
			r, err := rd.Decode(bm, hints)
			if err != nil {
				break
			}
			pts := r.GetResultPoints()
			var box image.Rectangle
			if r.GetBarcodeFormat() == gozxing.BarcodeFormat_DATA_MATRIX {
				box = square(pts)
			} else {
				box = bars(work, pts)
			}
			if box.Empty() {
				break
			}
			out = append(out, box)
			blank(box)
		}
	}
	return out
}

// oneD returns one reader of every 1D format hdw masks (Code 128, Code 39,
// Code 93, Codabar, EAN/UPC, ITF), as zxing's MultiFormatOneDReader does:
// each row of the image (and of the image turned by 90 degrees) is read
// once and tried with every format, instead of one pass over the image,
// and one turned copy of it, per format. With counted, a row with fewer
// than minOneDRuns runs of black and white is not handed to the formats
// at all (see anyOneD).
func oneD(counted bool) gozxing.Reader {
	m := anyOneD{counted: counted}
	for _, r := range []gozxing.Reader{oned.NewCode128Reader(), oned.NewCode39Reader(), oned.NewCode93Reader(),
		oned.NewCodaBarReader(), oned.NewMultiFormatUPCEANReader(nil), oned.NewITFReader()} {
		m.formats = append(m.formats, r.(oned.RowDecoder)) // each embeds *oned.OneDReader over itself
	}
	return oned.NewOneDReader(m)
}

// anyOneD decodes a row with the first of its formats that reads it.
type anyOneD struct {
	formats []oned.RowDecoder
	counted bool
}

// minOneDRuns is the fewest runs (bars and spaces) of any 1D code the
// formats decode: Code 39's start and stop characters, 9 elements each,
// and the gap between them (19); Code 128 needs 25 (start, one symbol,
// check symbol, stop), Code 93 25, Codabar 31 (four characters, the
// reader rejects fewer), UPC-E 33, ITF 37 (six digits), EAN-8 43. A row
// with fewer runs holds no code any format reads: skipping it changes no
// result (TestMinOneDRuns, TestBarcodesMatchGozxing). On a photo most
// rows (skin, sky, walls) binarize to a few long runs.
const minOneDRuns = 19

// errNoCode is anyOneD's answer for a row without a code: one value, as
// gozxing's exceptions record a stack trace each.
var errNoCode = gozxing.NewNotFoundException()

func (m anyOneD) DecodeRow(n int, row *gozxing.BitArray, hints map[gozxing.DecodeHintType]interface{}) (*gozxing.Result, error) {
	if m.counted && runs(row) < minOneDRuns {
		return nil, errNoCode
	}
	for _, d := range m.formats {
		if r, err := d.DecodeRow(n, row, hints); err == nil {
			return r, nil
		}
	}
	return nil, errNoCode
}

// runs returns the number of runs of equal bits in row (1 for a row of
// one colour): one more than the positions i where bit i+1 differs
// from bit i.
func runs(row *gozxing.BitArray) int {
	n := row.GetSize()
	if n == 0 {
		return 0
	}
	words := row.GetBitArray()
	changes := 0
	for i := 0; i*32 < n-1; i++ {
		w := words[i]
		next := w >> 1 // bit j: bit j+1 of the row
		if (i+1)*32 < n {
			next |= words[i+1] << 31
		}
		d := w ^ next
		// only the positions j with j+1 inside the row
		if last := n - 1 - i*32; last < 32 {
			d &= 1<<uint(last) - 1
		}
		changes += bits.OnesCount32(d)
	}
	return changes + 1
}

// grayLuminance is a gozxing luminance source over a grey image's pixels
// as they are. gozxing's own (NewLuminanceSourceFromImage) gives the same
// values for an image.Gray but goes through At and a colour conversion
// per pixel, and copies them: a sixth of the barcode pass on a 2 MP
// photo. It turns by 90 degrees as gozxing's does (1D codes upright).
type grayLuminance struct {
	gozxing.LuminanceSourceBase
	pix []byte
}

func newGrayLuminance(g *image.Gray) gozxing.LuminanceSource {
	b := g.Bounds()
	return &grayLuminance{gozxing.LuminanceSourceBase{Width: b.Dx(), Height: b.Dy()}, g.Pix[:b.Dx()*b.Dy()]}
}

func (l *grayLuminance) GetRow(y int, row []byte) ([]byte, error) {
	if y < 0 || y >= l.Height {
		return row, errRowOutside
	}
	if len(row) < l.Width {
		row = make([]byte, l.Width)
	}
	copy(row, l.pix[y*l.Width:(y+1)*l.Width])
	return row, nil
}

var errRowOutside = errors.New("photo: barcode row outside the image")

func (l *grayLuminance) GetMatrix() []byte       { return l.pix }
func (l *grayLuminance) IsRotateSupported() bool { return true }
func (l *grayLuminance) Invert() gozxing.LuminanceSource {
	return gozxing.LuminanceSourceInvert(l)
}
func (l *grayLuminance) String() string { return gozxing.LuminanceSourceString(l) }

// RotateCounterClockwise returns the image turned by 90 degrees
// counter-clockwise (gozxing's GoImageLuminanceSource's order).
func (l *grayLuminance) RotateCounterClockwise() (gozxing.LuminanceSource, error) {
	w, h := l.Width, l.Height
	out := make([]byte, w*h)
	for j := 0; j < w; j++ {
		x := w - 1 - j
		col := out[j*h : (j+1)*h]
		for i := range col {
			col[i] = l.pix[i*w+x]
		}
	}
	return &grayLuminance{gozxing.LuminanceSourceBase{Width: h, Height: w}, out}, nil
}

// square is the box of a 2D code's finder points, grown by a quarter of
// its size on every side (the points are module centres inside the
// code; the quiet zone is four modules).
func square(pts []gozxing.ResultPoint) image.Rectangle {
	r := pointsBox(pts)
	m := max(r.Dx(), r.Dy())/4 + 4
	return r.Inset(-m)
}

func pointsBox(pts []gozxing.ResultPoint) image.Rectangle {
	r := image.Rectangle{}
	for i, p := range pts {
		q := image.Rect(int(p.GetX()), int(p.GetY()), int(p.GetX())+1, int(p.GetY())+1)
		if i == 0 {
			r = q
		} else {
			r = r.Union(q)
		}
	}
	return r
}

// bars grows the scan line of a 1D barcode (its end points, on one row or
// one column) over the rows or columns that repeat its pattern, plus a
// margin: the whole height of the bars and their quiet zones.
func bars(g *image.Gray, pts []gozxing.ResultPoint) image.Rectangle {
	if len(pts) < 2 {
		return image.Rectangle{}
	}
	r := pointsBox(pts)
	horizontal := r.Dx() >= r.Dy()
	// line returns the binarized profile along row (or column) k.
	line := func(k int) []bool {
		var v []byte
		if horizontal {
			for x := r.Min.X; x < r.Max.X; x++ {
				v = append(v, g.GrayAt(x, k).Y)
			}
		} else {
			for y := r.Min.Y; y < r.Max.Y; y++ {
				v = append(v, g.GrayAt(k, y).Y)
			}
		}
		sum := 0
		for _, c := range v {
			sum += int(c)
		}
		out := make([]bool, len(v))
		for i, c := range v {
			out[i] = int(c)*len(v) < sum
		}
		return out
	}
	same := func(a, b []bool) bool {
		n := 0
		for i := range a {
			if a[i] == b[i] {
				n++
			}
		}
		return n*100 >= 85*len(a)
	}
	lo, hi, limit := r.Min.Y, r.Max.Y-1, g.Bounds().Dy()
	if !horizontal {
		lo, hi, limit = r.Min.X, r.Max.X-1, g.Bounds().Dx()
	}
	ref := line(lo)
	for lo > 0 && same(line(lo-1), ref) {
		lo--
	}
	for hi < limit-1 && same(line(hi+1), ref) {
		hi++
	}
	length := max(r.Dx(), r.Dy())
	m := length/10 + 4
	if horizontal {
		return image.Rect(r.Min.X, lo, r.Max.X, hi+1).Inset(-m)
	}
	return image.Rect(lo, r.Min.Y, hi+1, r.Max.Y).Inset(-m)
}

// codeMaxSide bounds the longer side of the grey image barcodes are
// looked for in: larger photos are reduced by an integer factor first.
const codeMaxSide = 4096

// codes returns the barcode regions of img in its coordinates.
func (h *Handler) codes(img image.Image) []image.Rectangle {
	return h.codesIn(&luma{pix: grayPixels(img), b: img.Bounds()})
}

// codesIn is codes on the luma l of a photo.
func (h *Handler) codesIn(l *luma) []image.Rectangle {
	b := l.b
	g, cols, rows, f := l.reduced(codeMaxSide)
	var out []image.Rectangle
	for _, r := range barcodes(g, cols, rows) {
		out = append(out, image.Rect(r.Min.X*f, r.Min.Y*f, r.Max.X*f+f, r.Max.Y*f+f).Add(b.Min))
	}
	return out
}
