package dcm

import (
	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// Native pixel data rendered as 8-bit grayscale for OCR, palette colour
// images through their lookup tables.

// render8 returns frame f of native pixel data as 8-bit grayscale, scaled
// from its own minimum and maximum (inverted for MONOCHROME1), for OCR.
func render8(px *pixels, f int) []byte {
	n := px.rows * px.cols
	bps := px.bitsAlloc / 8
	plane := n * bps
	base := f * plane * px.samples
	// Byte order: big-endian only with the retired explicit BE syntax, whose
	// files rarely need OCR; little-endian is assumed for rendering.
	vals := make([]uint32, n)
	sample := func(off int) uint32 {
		switch bps {
		case 1:
			return uint32(px.raw[off])
		case 2:
			return uint32(px.raw[off]) | uint32(px.raw[off+1])<<8
		default:
			return uint32(px.raw[off]) | uint32(px.raw[off+1])<<8 | uint32(px.raw[off+2])<<16 | uint32(px.raw[off+3])<<24
		}
	}
	for i := 0; i < n; i++ {
		if px.samples == 1 && px.lut != nil {
			vals[i] = px.lut.gray(sample(base + i*bps))
			continue
		}
		if px.samples == 1 {
			vals[i] = sample(base + i*bps)
			continue
		}
		var r, g, b uint32
		if px.planar == 0 {
			o := base + i*3*bps
			r, g, b = sample(o), sample(o+bps), sample(o+2*bps)
		} else {
			r, g, b = sample(base+i*bps), sample(base+plane+i*bps), sample(base+2*plane+i*bps)
		}
		vals[i] = (299*r + 587*g + 114*b) / 1000
	}
	lo, hi := ^uint32(0), uint32(0)
	for _, v := range vals {
		lo, hi = min(lo, v), max(hi, v)
	}
	out := make([]byte, n)
	span := uint64(hi - lo)
	for i, v := range vals {
		g := byte(0)
		if span > 0 {
			g = byte(uint64(v-lo) * 255 / span)
		}
		if px.photometric == "MONOCHROME1" {
			g = 255 - g
		}
		out[i] = g
	}
	return out
}

// palette is a PALETTE COLOR lookup table reduced to luminance.
type palette struct {
	first uint32
	lum   []uint32
}

// readPalette reads the red, green and blue lookup tables; nil when they
// are absent or inconsistent (the image is then rendered from its indices).
func readPalette(body []*dicom.Element) *palette {
	var tabs [3][]uint32
	var first uint32
	for c := 0; c < 3; c++ {
		desc := find(body, tag.Tag{Group: 0x0028, Element: uint16(0x1101 + c)})
		data := find(body, tag.Tag{Group: 0x0028, Element: uint16(0x1201 + c)})
		if desc == nil || data == nil || desc.Value.ValueType() != dicom.Ints || data.Value.ValueType() != dicom.Bytes {
			return nil
		}
		d, _ := desc.Value.GetValue().([]int)
		b, _ := data.Value.GetValue().([]byte)
		if len(d) != 3 {
			return nil
		}
		n := d[0]
		if n == 0 {
			n = 65536
		}
		first = uint32(d[1])
		if len(b) < 2*n {
			return nil
		}
		t := make([]uint32, n)
		for i := range t {
			v := uint32(b[2*i]) | uint32(b[2*i+1])<<8
			if d[2] == 8 && v <= 0xFF {
				v <<= 8
			}
			t[i] = v
		}
		tabs[c] = t
	}
	if len(tabs[0]) != len(tabs[1]) || len(tabs[0]) != len(tabs[2]) {
		return nil
	}
	p := &palette{first: first, lum: make([]uint32, len(tabs[0]))}
	for i := range p.lum {
		p.lum[i] = (299*tabs[0][i] + 587*tabs[1][i] + 114*tabs[2][i]) / 1000
	}
	return p
}

func (p *palette) gray(idx uint32) uint32 {
	switch {
	case idx < p.first:
		return p.lum[0]
	case int(idx-p.first) >= len(p.lum):
		return p.lum[len(p.lum)-1]
	}
	return p.lum[idx-p.first]
}
