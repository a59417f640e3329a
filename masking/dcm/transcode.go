package dcm

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/jpeg"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"hdw/masking"
)

const (
	tsRLE          = "1.2.840.10008.1.2.5"
	tsJPEGBaseline = "1.2.840.10008.1.2.4.50"
)

// decodable reports whether encapsulated pixels of a transfer syntax can be
// decoded so that burned-in text is blanked (the output is then written
// native, in Explicit VR Little Endian).
func decodable(ts string) bool { return ts == tsRLE || ts == tsJPEGBaseline }

// transcode decodes every frame of encapsulated pixel data into native
// interleaved samples in px.raw and records the attributes that change.
// It returns a quarantine when a frame cannot be decoded exactly.
func (d *deid) transcode(px *pixels, ts string) error {
	if len(px.fragments) != px.frames {
		return masking.Quarantine("encapsulated frames split in fragments not supported")
	}
	if ts == tsJPEGBaseline && px.bitsAlloc != 8 {
		return masking.Quarantine("jpeg baseline with more than 8 bits")
	}
	var raw []byte
	samples := px.samples
	for _, frag := range px.fragments {
		var f []byte
		var err error
		switch ts {
		case tsRLE:
			f, err = decodeRLE(frag, px.rows, px.cols, px.samples, px.bitsAlloc/8)
		case tsJPEGBaseline:
			f, samples, err = decodeJPEG(frag, px.rows, px.cols)
		}
		if err != nil {
			return masking.Quarantine("encapsulated frame cannot be decoded")
		}
		raw = append(raw, f...)
	}
	if samples != px.samples && ts == tsJPEGBaseline && px.samples == 1 {
		return masking.Quarantine("jpeg color frames in a grayscale image")
	}
	if len(raw)%2 == 1 {
		raw = append(raw, 0)
	}
	px.raw, px.encapsulated, px.planar, px.samples = raw, false, 0, samples
	vr := "OW"
	if px.bitsAlloc == 8 {
		vr = "OB"
	}
	pe := elem(tag.PixelData, vr, dicom.PixelDataInfo{IntentionallyUnprocessed: true, UnprocessedValueData: raw})
	d.replaced = append(d.replaced, pe, elem(tag.SamplesPerPixel, "US", []int{samples}))
	if samples == 3 {
		d.replaced = append(d.replaced, elem(tag.PlanarConfiguration, "US", []int{0}))
	}
	if ts == tsJPEGBaseline {
		if samples == 3 {
			px.photometric = "RGB"
			d.replaced = append(d.replaced, elem(tag.PhotometricInterpretation, "CS", []string{"RGB"}))
		}
		d.replaced = append(d.replaced, elem(tag.LossyImageCompression, "CS", []string{"01"}))
	}
	d.newTS = tsExplicitLE
	d.actions = append(d.actions, "pixels:decoded")
	return nil
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
