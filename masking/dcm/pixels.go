package dcm

import (
	"context"
	"image"
	"strings"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"hdw/masking"
)

// pixels describes the top-level pixel data of a file.
type pixels struct {
	rows, cols, frames  int
	samples, bitsAlloc  int
	planar              int
	photometric         string
	encapsulated        bool
	raw                 []byte // native pixel data, in the file's byte order
	bigEndian           bool
	fragments           [][]byte // encapsulated frames
	lut                 *palette
	manufacturer, model string
	burnedIn            string
	recognizable        string // Recognizable Visual Features (faces.go)
}

// checkPixels verifies that the pixel data is present, complete and within
// the limits, and returns its description.
func (d *deid) checkPixels(body []*dicom.Element, ts string) (*pixels, error) {
	pe := find(body, tag.PixelData)
	if pe == nil || pe.Value == nil || pe.Value.ValueType() != dicom.PixelData {
		return nil, masking.Quarantine("dicom without pixel data (corrupt or not an image)")
	}
	info, ok := pixelInfoOf(pe.Value)
	if !ok {
		return nil, masking.Quarantine("dicom pixel data unreadable")
	}
	px := &pixels{encapsulated: info.IsEncapsulated, raw: info.UnprocessedValueData}
	px.rows, _ = firstInt(find(body, tag.Rows))
	px.cols, _ = firstInt(find(body, tag.Columns))
	px.frames = 1
	if e := find(body, tag.NumberOfFrames); e != nil && firstString(e) != "" {
		// A count that does not read as a positive number would have the
		// masks miss frames: not proven clean.
		n, ok := firstInt(e)
		if !ok || n <= 0 {
			return nil, masking.Quarantine("number of frames unreadable")
		}
		px.frames = n
	}
	px.samples = 1
	if n, ok := firstInt(find(body, tag.SamplesPerPixel)); ok && n > 0 {
		px.samples = n
	}
	px.bitsAlloc, _ = firstInt(find(body, tag.BitsAllocated))
	px.planar, _ = firstInt(find(body, tag.PlanarConfiguration))
	px.photometric = strings.ToUpper(firstString(find(body, tag.PhotometricInterpretation)))
	px.manufacturer = firstString(find(body, tag.Manufacturer))
	px.model = firstString(find(body, tag.ManufacturerModelName))
	px.burnedIn = strings.ToUpper(firstString(find(body, tag.BurnedInAnnotation)))
	px.recognizable = strings.ToUpper(firstString(find(body, tag.RecognizableVisualFeatures)))

	if px.photometric == "PALETTE COLOR" {
		px.lut = readPalette(body)
	}
	if px.rows <= 0 || px.cols <= 0 {
		return nil, masking.Quarantine("dicom image without dimensions")
	}
	maxPixels := d.o.MaxPixels
	if maxPixels <= 0 {
		maxPixels = 100_000_000
	}
	if int64(px.rows)*int64(px.cols)*int64(px.frames) > maxPixels {
		return nil, masking.Quarantine("image dimensions exceed limit")
	}
	if px.samples != 1 && px.samples != 3 {
		return nil, masking.Quarantine("samples per pixel not supported")
	}
	if px.encapsulated {
		for _, f := range info.Frames {
			px.fragments = append(px.fragments, f.EncapsulatedData.Data)
		}
		if len(info.Frames) == 0 || len(info.Frames) < px.frames && len(info.Frames) < 1 {
			return nil, masking.Quarantine("encapsulated pixel data truncated")
		}
		for _, f := range info.Frames {
			if len(f.EncapsulatedData.Data) == 0 {
				return nil, masking.Quarantine("encapsulated pixel data truncated")
			}
		}
		return px, nil
	}
	if !info.IntentionallyUnprocessed {
		return nil, masking.Quarantine("native pixel data unreadable")
	}
	samples := int64(px.rows) * int64(px.cols) * int64(px.frames) * int64(px.samples)
	var need int64
	switch px.bitsAlloc {
	case 8, 16, 32:
		need = samples * int64(px.bitsAlloc/8)
	case 12:
		if ts == tsExplicitBE {
			return nil, masking.Quarantine("12-bit packed pixel data in big endian byte order not supported")
		}
		need = packed12Len(samples)
	case 1:
		return nil, masking.Quarantine("1-bit pixel data not supported")
	default:
		return nil, masking.Quarantine("bits allocated not supported")
	}
	have := int64(len(px.raw))
	if d.streamLen > 0 {
		have = d.streamLen
	}
	if have < need {
		return nil, masking.Quarantine("native pixel data truncated")
	}
	return px, nil
}

// textModalities and textSOPClasses are known to carry burned-in text or
// visible identifying content.
var textModalities = map[string]bool{"US": true, "SC": true, "OT": true, "XC": true, "ES": true, "GM": true, "DOC": true, "IVUS": true}

func textSOPClass(uid string) bool {
	switch {
	case strings.HasPrefix(uid, "1.2.840.10008.5.1.4.1.1.7"): // secondary capture family
		return true
	case strings.HasPrefix(uid, "1.2.840.10008.5.1.4.1.1.6."), strings.HasPrefix(uid, "1.2.840.10008.5.1.4.1.1.3."): // ultrasound
		return true
	case strings.HasPrefix(uid, "1.2.840.10008.5.1.4.1.1.104."): // encapsulated documents
		return true
	case strings.HasPrefix(uid, "1.2.840.10008.5.1.4.1.1.77.1."): // visible light
		return true
	}
	return false
}

// needsExam reports whether the pixels must be examined for burned-in text.
func (d *deid) needsExam(px *pixels) bool {
	return px.burnedIn == "YES" || textModalities[d.modality] || textSOPClass(d.sopClass)
}

// pixelAccess reports whether maskPixels or the overlay check will read or
// edit the pixels; a streamed file is then read whole. It mirrors the
// conditions of maskPixels and run.
func (d *deid) pixelAccess(body []*dicom.Element, px *pixels) bool {
	required := d.needsExam(px)
	optional := !required && d.cfg.ExamineAll && d.o.OCR != nil
	return required || optional || len(d.o.Boxes) > 0 || embeddedOverlay(body) || px.recognizable == "YES"
}

// maskPixels blanks faces (faces.go) and burned-in text regions, or
// quarantines the file when its faces or text cannot be located or its
// pixels cannot be rewritten.
func (d *deid) maskPixels(ctx context.Context, body []*dicom.Element, px *pixels, ts string) error {
	faces, err := d.lookForFaces(px)
	if err != nil {
		return err
	}
	required := d.needsExam(px)
	optional := !required && d.cfg.ExamineAll && d.o.OCR != nil
	text := required || optional || len(d.o.Boxes) > 0
	if !text && !faces {
		return nil
	}
	if px.encapsulated && !decodable(ts) && faces {
		return masking.Quarantine("recognizable features in encapsulated pixel data (%s) cannot be masked: no decoder", codecName(ts))
	}
	if px.encapsulated && !decodable(ts) {
		if optional {
			return masking.Quarantine("encapsulated pixel data (%s) cannot be examined for text", codecName(ts))
		}
		return masking.Quarantine("burned-in text in encapsulated pixel data (%s) cannot be masked: no decoder", codecName(ts))
	}
	if px.bitsAlloc == 1 {
		return masking.Quarantine("1-bit pixel data not supported")
	}
	boxes := append([]masking.Box(nil), d.o.Boxes...)
	for _, m := range d.o.Masks {
		if m.Manufacturer != "" && !strings.EqualFold(strings.TrimSpace(m.Manufacturer), px.manufacturer) {
			continue
		}
		if m.Model != "" && !strings.EqualFold(strings.TrimSpace(m.Model), px.model) {
			continue
		}
		if (m.Rows != 0 && m.Rows != px.rows) || (m.Cols != 0 && m.Cols != px.cols) {
			continue
		}
		boxes = append(boxes, m.Boxes...)
	}
	if text && len(boxes) == 0 && d.o.OCR == nil {
		return masking.Quarantine("burned-in text: no mask configured and no ocr")
	}
	if px.encapsulated {
		// Decoded only once it is known that its text can be masked.
		if err := d.transcode(body, px, ts); err != nil {
			return err
		}
	}
	if faces {
		if err := d.maskFaces(px); err != nil {
			return err
		}
	}
	if !text {
		return nil
	}
	if len(boxes) > 0 {
		d.actions = append(d.actions, "pixels:mask")
	} else {
		found, err := d.ocrFrames(ctx, px)
		if err != nil {
			return err
		}
		boxes = append(boxes, found...)
		if len(boxes) == 0 {
			if optional {
				d.actions = append(d.actions, "pixels:ocr:none")
				return nil
			}
			if d.noTextStored(px) {
				// Secondary capture and "other" images often hold no text
				// at all: every OCR pass found none (SEC-PSE-4).
				d.actions = append(d.actions, ActionOCRNoText)
				return nil
			}
			return masking.Quarantine("burned-in text not located")
		}
		d.actions = append(d.actions, "pixels:ocr")
	}
	blank(px, boxes)
	d.pixelsMasked = true
	return nil
}

// ActionOCRNoText is the action of a secondary capture or "other" image
// stored because every OCR pass found no text in it.
const ActionOCRNoText = "burned-in check: OCR, no text"

// noTextStored reports whether an image in which OCR finds no text is
// stored rather than quarantined: secondary capture, "other" images and
// photographs (whose faces were looked for) that do not declare burned-in
// text, unless the strict profile is on.
func (d *deid) noTextStored(px *pixels) bool {
	if d.cfg.StrictNoText || px.burnedIn == "YES" {
		return false
	}
	return d.modality == "SC" || d.modality == "OT" || strings.HasPrefix(d.sopClass, "1.2.840.10008.5.1.4.1.1.7") || d.photograph()
}

// ocrFrames runs OCR on the frames that may show text and returns the
// padded word boxes found, to be masked on every frame. Read are the
// first, middle and last frames, then every frame with sharp-edged
// content (text is drawn with sharp edges; anatomy rarely is) in a cell
// of the image that neither a box found so far nor an already read frame
// covers: text that appears late in a cine loop is read.
func (d *deid) ocrFrames(ctx context.Context, px *pixels) ([]masking.Box, error) {
	var boxes []masking.Box
	read := make([]bool, px.frames)
	g := newCellGrid(px.cols, px.rows)
	seen := make([]bool, len(g.cells))
	run := func(f int) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		read[f] = true
		gray := render8(px, f)
		found, err := readText(ctx, d.o.OCR, gray, px.cols, px.rows)
		if err != nil {
			return masking.Quarantine("burned-in text: ocr failed")
		}
		boxes = append(boxes, found...)
		for i, on := range g.sharp(gray) {
			seen[i] = seen[i] || on
		}
		return nil
	}
	for _, f := range []int{0, px.frames / 2, px.frames - 1} {
		if !read[f] {
			if err := run(f); err != nil {
				return nil, err
			}
		}
	}
	for f := 0; f < px.frames; f++ {
		if read[f] {
			continue
		}
		cells := g.sharp(render8(px, f))
		for i, on := range cells {
			if on && !seen[i] && !g.covered(i, boxes) {
				if err := run(f); err != nil {
					return nil, err
				}
				break
			}
		}
	}
	return boxes, nil
}

// cellGrid divides an image into cells of cellSize pixels.
type cellGrid struct {
	w, h, cw, ch int
	cells        []image.Rectangle
}

const cellSize = 16

func newCellGrid(w, h int) *cellGrid {
	g := &cellGrid{w: w, h: h, cw: (w + cellSize - 1) / cellSize, ch: (h + cellSize - 1) / cellSize}
	for cy := 0; cy < g.ch; cy++ {
		for cx := 0; cx < g.cw; cx++ {
			g.cells = append(g.cells, image.Rect(cx*cellSize, cy*cellSize, min(w, (cx+1)*cellSize), min(h, (cy+1)*cellSize)))
		}
	}
	return g
}

// sharp marks the cells holding at least 4 pixel pairs whose values differ
// by 64 or more (of 255) horizontally: glyph strokes.
func (g *cellGrid) sharp(gray []byte) []bool {
	count := make([]int, len(g.cells))
	for y := 0; y < g.h; y++ {
		row := gray[y*g.w : (y+1)*g.w]
		for x := 1; x < g.w; x++ {
			if d := int(row[x]) - int(row[x-1]); d >= 64 || d <= -64 {
				count[(y/cellSize)*g.cw+x/cellSize]++
			}
		}
	}
	out := make([]bool, len(count))
	for i, n := range count {
		out[i] = n >= 4
	}
	return out
}

// covered reports whether cell i lies inside one of boxes.
func (g *cellGrid) covered(i int, boxes []masking.Box) bool {
	c := g.cells[i]
	for _, b := range boxes {
		if b.X0 <= c.Min.X && b.Y0 <= c.Min.Y && b.X1 >= c.Max.X && b.Y1 >= c.Max.Y {
			return true
		}
	}
	return false
}

// codecName names the codec of an encapsulated transfer syntax for a
// quarantine reason (a fixed name, never a value of the file).
func codecName(ts string) string {
	switch ts {
	case "1.2.840.10008.1.2.4.50":
		return "JPEG Baseline"
	case "1.2.840.10008.1.2.4.51":
		return "JPEG Extended 12-bit"
	case "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70":
		return "JPEG Lossless"
	case "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81":
		return "JPEG-LS"
	case "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91":
		return "JPEG 2000"
	case "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202", "1.2.840.10008.1.2.4.203":
		return "HTJ2K"
	case "1.2.840.10008.1.2.4.100", "1.2.840.10008.1.2.4.101", "1.2.840.10008.1.2.4.102", "1.2.840.10008.1.2.4.103", "1.2.840.10008.1.2.4.104", "1.2.840.10008.1.2.4.105", "1.2.840.10008.1.2.4.106":
		return "MPEG video"
	case "1.2.840.10008.1.2.4.107", "1.2.840.10008.1.2.4.108":
		return "HEVC video"
	case "1.2.840.10008.1.2.5":
		return "RLE Lossless"
	}
	return "unknown codec"
}

// embeddedOverlay reports whether an overlay plane is stored in the unused
// high bits of the pixel data (retired form: Overlay Bits Allocated > 1 or
// a non-zero Overlay Bit Position).
func embeddedOverlay(body []*dicom.Element) bool {
	for _, e := range body {
		g := e.Tag.Group
		if g < 0x6000 || g > 0x601E || g%2 == 1 || e.Tag.Element != 0x0100 && e.Tag.Element != 0x0102 {
			continue
		}
		n, ok := firstInt(e)
		if (e.Tag.Element == 0x0100 && ok && n > 1) || (e.Tag.Element == 0x0102 && ok && n != 0) {
			return true
		}
	}
	return false
}

// clearHighBits removes an overlay embedded in the bits above HighBit of
// 16-bit native pixels: unsigned samples get zeros, signed samples the
// sign extension of their high bit.
func clearHighBits(px *pixels, highBit int, signed bool) {
	if px.bitsAlloc != 16 || highBit < 0 || highBit >= 15 {
		return
	}
	mask := uint16(1)<<(highBit+1) - 1
	sign := uint16(1) << highBit
	n := px.rows * px.cols * px.samples * px.frames * 2
	for i := 0; i+1 < n; i += 2 {
		lo, hi := px.raw[i], px.raw[i+1]
		if px.bigEndian {
			lo, hi = hi, lo
		}
		v := (uint16(lo) | uint16(hi)<<8) & mask
		if signed && v&sign != 0 {
			v |= ^mask
		}
		lo, hi = byte(v), byte(v>>8)
		if px.bigEndian {
			lo, hi = hi, lo
		}
		px.raw[i], px.raw[i+1] = lo, hi
	}
}

// blank zeroes the boxes in every frame of native pixel data, in place.
func blank(px *pixels, boxes []masking.Box) {
	bps := px.bitsAlloc / 8
	plane := px.rows * px.cols * bps
	frameSize := plane * px.samples
	for f := 0; f < px.frames; f++ {
		base := f * frameSize
		for _, b := range boxes {
			x0, y0 := max(0, b.X0), max(0, b.Y0)
			x1, y1 := min(px.cols, b.X1), min(px.rows, b.Y1)
			if x0 >= x1 || y0 >= y1 {
				continue
			}
			for y := y0; y < y1; y++ {
				if px.samples == 1 || px.planar == 0 {
					step := bps * px.samples
					start := base + (y*px.cols+x0)*step
					clear(px.raw[start : start+(x1-x0)*step])
					continue
				}
				for s := 0; s < px.samples; s++ {
					start := base + s*plane + (y*px.cols+x0)*bps
					clear(px.raw[start : start+(x1-x0)*bps])
				}
			}
		}
	}
}
