package dcm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/jpeg"
	"strconv"
	"strings"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"hdw/masking"
	"hdw/masking/dcm/codec"
)

const (
	tsRLE          = "1.2.840.10008.1.2.5"
	tsJPEGBaseline = "1.2.840.10008.1.2.4.50"
	tsJPEGExtended = "1.2.840.10008.1.2.4.51"
)

// codecs are the transfer syntaxes decoded by masking/dcm/codec (built
// with the dcmcodec tag), with the Lossy Image Compression Method of
// their family.
var codecs = map[string]struct {
	decode func(dst, src []byte, s codec.Spec) (codec.Info, error)
	method string
}{
	tsJPEGExtended:           {codec.JPEG, "ISO_10918_1"},
	"1.2.840.10008.1.2.4.57": {codec.JPEG, "ISO_10918_1"},
	"1.2.840.10008.1.2.4.70": {codec.JPEG, "ISO_10918_1"},
	"1.2.840.10008.1.2.4.80": {codec.JPEGLS, "ISO_14495_1"},
	"1.2.840.10008.1.2.4.81": {codec.JPEGLS, "ISO_14495_1"},
	"1.2.840.10008.1.2.4.90": {codec.JPEG2000, "ISO_15444_1"},
	"1.2.840.10008.1.2.4.91": {codec.JPEG2000, "ISO_15444_1"},
}

// decodable reports whether encapsulated pixels of a transfer syntax can be
// decoded so that burned-in text is blanked (the output is then written
// native, in Explicit VR Little Endian).
func decodable(ts string) bool {
	_, ok := codecs[ts]
	return ts == tsRLE || ts == tsJPEGBaseline || codec.Built && ok
}

// transcode decodes every frame of encapsulated pixel data into native
// interleaved samples in px.raw and records the attributes that change:
// pixel data, samples, planar configuration, photometric interpretation,
// and for a lossy source the Lossy Image Compression attributes. Frames
// are decoded one at a time into one buffer whose size the header fixes
// (bounded by checkPixels); a frame whose codestream declares another size
// is refused before it is decoded. It returns a quarantine naming the
// codec when a frame cannot be decoded exactly.
func (d *deid) transcode(body []*dicom.Element, px *pixels, ts string) error {
	streams, err := frameStreams(px)
	if err != nil {
		return err
	}
	if ts == tsJPEGBaseline && px.bitsAlloc != 8 {
		return masking.Quarantine("jpeg baseline with more than 8 bits")
	}
	if ts != tsRLE && px.bitsAlloc != 8 && px.bitsAlloc != 16 {
		return masking.Quarantine("encapsulated pixel data (%s) with %d bits allocated not supported", codecName(ts), px.bitsAlloc)
	}
	frameLen := px.rows * px.cols * px.samples * (px.bitsAlloc / 8)
	raw := make([]byte, frameLen*px.frames, frameLen*px.frames+1)
	signed, _ := firstInt(find(body, tag.PixelRepresentation))
	spec := codec.Spec{Rows: px.rows, Cols: px.cols, Samples: px.samples, BitsAllocated: px.bitsAlloc, Signed: signed == 1,
		YBR: strings.HasPrefix(px.photometric, "YBR_FULL")}
	lossy, rgb := ts == tsJPEGBaseline || ts == tsJPEGExtended, false
	compressed := 0
	for f, b := range streams {
		dst := raw[f*frameLen : (f+1)*frameLen]
		compressed += len(b)
		switch ts {
		case tsRLE:
			out, err := decodeRLE(b, px.rows, px.cols, px.samples, px.bitsAlloc/8)
			if err != nil {
				return masking.Quarantine("encapsulated frame cannot be decoded (%s)", codecName(ts))
			}
			copy(dst, out)
		case tsJPEGBaseline:
			out, samples, err := decodeJPEG(b, px.rows, px.cols)
			if err != nil {
				return masking.Quarantine("encapsulated frame cannot be decoded (%s)", codecName(ts))
			}
			if samples != px.samples {
				return masking.Quarantine("jpeg frames with %d samples in an image declaring %d", samples, px.samples)
			}
			copy(dst, out)
			rgb = samples == 3
		default:
			info, err := codecs[ts].decode(dst, b, spec)
			switch {
			case errors.Is(err, codec.ErrMismatch):
				return masking.Quarantine("encapsulated frame (%s) declares another size, sample count or precision than the header: not decoded", codecName(ts))
			case err != nil:
				return masking.Quarantine("encapsulated frame cannot be decoded (%s)", codecName(ts))
			}
			lossy, rgb = lossy || info.Lossy, info.RGB
		}
	}
	if !rgb && (px.photometric == "YBR_RCT" || px.photometric == "YBR_ICT") {
		// Those values exist only inside JPEG 2000: written native they
		// would be wrong.
		return masking.Quarantine("encapsulated frame (%s) declares %s without the component transform", codecName(ts), px.photometric)
	}
	if len(raw)%2 == 1 {
		raw = append(raw, 0)
	}
	px.raw, px.encapsulated, px.planar = raw, false, 0
	vr := "OW"
	if px.bitsAlloc == 8 {
		vr = "OB"
	}
	pe := elem(tag.PixelData, vr, dicom.PixelDataInfo{IntentionallyUnprocessed: true, UnprocessedValueData: raw})
	d.replaced = append(d.replaced, pe)
	if px.samples == 3 {
		d.replaced = append(d.replaced, elem(tag.PlanarConfiguration, "US", []int{0}))
	}
	if rgb {
		px.photometric = "RGB"
		d.replaced = append(d.replaced, elem(tag.PhotometricInterpretation, "CS", []string{"RGB"}))
	}
	if lossy {
		d.replaced = append(d.replaced, lossyAttributes(body, ts, len(raw), compressed)...)
	}
	d.newTS = tsExplicitLE
	d.actions = append(d.actions, "pixels:decoded")
	return nil
}

// frameStreams returns the codestream of each frame: one fragment per
// frame, every fragment of a single-frame image joined, or, for frames
// split over several fragments, the fragments grouped from each one that
// opens a codestream (JPEG and JPEG-LS SOI, JPEG 2000 SOC and SIZ). A
// grouping that does not give one stream per frame is not decoded.
func frameStreams(px *pixels) ([][]byte, error) {
	switch {
	case len(px.fragments) == px.frames:
		return px.fragments, nil
	case px.frames == 1:
		return [][]byte{bytes.Join(px.fragments, nil)}, nil
	}
	var out [][]byte
	for _, f := range px.fragments {
		if len(out) == 0 || bytes.HasPrefix(f, []byte{0xFF, 0xD8, 0xFF}) || bytes.HasPrefix(f, []byte{0xFF, 0x4F, 0xFF, 0x51}) {
			out = append(out, f)
			continue
		}
		out[len(out)-1] = append(out[len(out)-1][:len(out[len(out)-1]):len(out[len(out)-1])], f...)
	}
	if len(out) != px.frames {
		return nil, masking.Quarantine("encapsulated frames split in fragments: %d codestreams for %d frames", len(out), px.frames)
	}
	return out, nil
}

// lossyAttributes says that the native pixels come from a lossy
// compression (PS3.3 C.7.6.1.1.5): Lossy Image Compression "01", and
// when the file gives no method, the codec's with the ratio of this
// compression. A file that names its lossy history keeps it.
func lossyAttributes(body []*dicom.Element, ts string, native, compressed int) []*dicom.Element {
	out := []*dicom.Element{elem(tag.LossyImageCompression, "CS", []string{"01"})}
	if find(body, tag.LossyImageCompressionMethod) != nil || compressed == 0 {
		return out
	}
	method := "ISO_10918_1"
	if c, ok := codecs[ts]; ok {
		method = c.method
	}
	ratio := strconv.FormatFloat(float64(native)/float64(compressed), 'f', 2, 64)
	if len(ratio) > 16 {
		ratio = "9999999999999999"
	}
	return append(out, elem(tag.LossyImageCompressionMethod, "CS", []string{method}),
		elem(tag.LossyImageCompressionRatio, "DS", []string{ratio}))
}

var errDecode = masking.Quarantine("decode")

// decodeRLE decodes one RLE Lossless frame (PS3.5 Annex G) into
// interleaved little-endian samples.
func decodeRLE(b []byte, rows, cols, samples, bps int) ([]byte, error) {
	if len(b) < 64 {
		return nil, errDecode
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n != samples*bps || n < 1 || n > 15 {
		return nil, errDecode
	}
	var offs [16]int
	for i := 0; i < n; i++ {
		offs[i] = int(binary.LittleEndian.Uint32(b[4+4*i:]))
	}
	offs[n] = len(b)
	px := rows * cols
	out := make([]byte, px*samples*bps)
	seg := make([]byte, 0, px)
	for i := 0; i < n; i++ {
		if offs[i] < 64 || offs[i] > offs[i+1] || offs[i+1] > len(b) {
			return nil, errDecode
		}
		seg = packBits(seg[:0], b[offs[i]:offs[i+1]], px)
		if len(seg) < px {
			return nil, errDecode
		}
		s, k := i/bps, i%bps // sample, byte index from the most significant
		for p := 0; p < px; p++ {
			out[(p*samples+s)*bps+(bps-1-k)] = seg[p]
		}
	}
	return out, nil
}

// packBits decodes a PackBits segment, stopping at limit bytes.
func packBits(dst, src []byte, limit int) []byte {
	for i := 0; i < len(src) && len(dst) < limit; {
		c := int8(src[i])
		i++
		switch {
		case c >= 0:
			m := int(c) + 1
			if i+m > len(src) {
				return dst
			}
			dst = append(dst, src[i:i+m]...)
			i += m
		case c != -128:
			if i >= len(src) {
				return dst
			}
			for j := 0; j < 1-int(c); j++ {
				dst = append(dst, src[i])
			}
			i++
		}
	}
	if len(dst) > limit {
		dst = dst[:limit]
	}
	return dst
}

// decodeJPEG decodes a baseline JPEG frame into 8-bit gray or RGB
// interleaved samples.
func decodeJPEG(b []byte, rows, cols int) ([]byte, int, error) {
	// Check the declared size before decoding: a forged header could ask
	// for gigabytes.
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(b))
	if err != nil || cfg.Width != cols || cfg.Height != rows {
		return nil, 0, errDecode
	}
	img, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, 0, errDecode
	}
	r := img.Bounds()
	if r.Dx() != cols || r.Dy() != rows {
		return nil, 0, errDecode
	}
	if g, ok := img.(*image.Gray); ok {
		out := make([]byte, 0, rows*cols)
		for y := 0; y < rows; y++ {
			out = append(out, g.Pix[y*g.Stride:y*g.Stride+cols]...)
		}
		return out, 1, nil
	}
	out := make([]byte, 0, rows*cols*3)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			out = append(out, byte(cr>>8), byte(cg>>8), byte(cb>>8))
		}
	}
	return out, 3, nil
}
