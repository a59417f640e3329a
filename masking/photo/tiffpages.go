package photo

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"io"

	"hdw/masking"

	"golang.org/x/image/tiff"
)

// maxTIFFPages bounds the pages of a TIFF file read.
const maxTIFFPages = 1000

var errTIFFIFD = errors.New("tiff: damaged image file directory chain")

// tiffPages returns the offsets of the image file directories of a TIFF
// that hold full-resolution pages, following the IFD chain from the
// header (reduced-resolution images, NewSubfileType bit 0, are thumbnails
// and skipped: they are dropped with the rest of the metadata).
func tiffPages(data []byte) ([]uint32, binary.ByteOrder, error) {
	if len(data) < 8 {
		return nil, nil, errTIFFIFD
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if data[0] == 'M' {
		bo = binary.BigEndian
	}
	var pages []uint32
	seen := map[uint32]bool{}
	for off := bo.Uint32(data[4:8]); off != 0; {
		if seen[off] || len(seen) >= maxTIFFPages || int64(off)+2 > int64(len(data)) {
			return nil, nil, errTIFFIFD
		}
		seen[off] = true
		n := int(bo.Uint16(data[off:]))
		end := int64(off) + 2 + 12*int64(n)
		if end+4 > int64(len(data)) {
			return nil, nil, errTIFFIFD
		}
		thumb := false
		for i := 0; i < n; i++ {
			e := data[int(off)+2+12*i:]
			if bo.Uint16(e) == 254 && bo.Uint32(e[8:])&1 == 1 && bo.Uint16(e[2:]) == 4 {
				thumb = true
			}
		}
		if !thumb {
			pages = append(pages, off)
		}
		off = bo.Uint32(data[end:])
	}
	if len(pages) == 0 {
		return nil, nil, errTIFFIFD
	}
	return pages, bo, nil
}

// decodeTIFFPage decodes the page whose IFD is at off, by pointing the
// header at it for the time of the decode (TIFF offsets are absolute).
func decodeTIFFPage(data []byte, bo binary.ByteOrder, off uint32) (image.Image, error) {
	first := bo.Uint32(data[4:8])
	bo.PutUint32(data[4:8], off)
	defer bo.PutUint32(data[4:8], first)
	return tiff.Decode(bytes.NewReader(data))
}

// writeTIFFPages writes pages as a multi-page little-endian TIFF: 8-bit
// RGBA (unassociated alpha), one deflate-compressed strip per page, and
// only the tags that describe the pixels (lossless).
func writeTIFFPages(w io.Writer, pages []image.Image) error {
	var out bytes.Buffer
	out.WriteString("II*\x00\x00\x00\x00\x00") // first IFD offset patched below
	le := binary.LittleEndian
	prevNext := 4 // where the offset of the next IFD goes
	for _, p := range pages {
		b := p.Bounds()
		nrgba := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
		draw.Draw(nrgba, nrgba.Bounds(), p, b.Min, draw.Src)
		stripOff := out.Len()
		zw := zlib.NewWriter(&out)
		if _, err := zw.Write(nrgba.Pix); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return err
		}
		stripLen := out.Len() - stripOff
		if out.Len()%2 == 1 {
			out.WriteByte(0)
		}
		bpsOff := out.Len()
		for i := 0; i < 4; i++ {
			out.Write([]byte{8, 0})
		}
		ifd := out.Len()
		le.PutUint32(out.Bytes()[prevNext:], uint32(ifd))
		type entry struct {
			tag, typ uint16
			count, v uint32
		}
		const short, long = 3, 4
		entries := []entry{
			{256, long, 1, uint32(b.Dx())}, {257, long, 1, uint32(b.Dy())},
			{258, short, 4, uint32(bpsOff)}, {259, short, 1, 8}, {262, short, 1, 2},
			{273, long, 1, uint32(stripOff)}, {277, short, 1, 4}, {278, long, 1, uint32(b.Dy())},
			{279, long, 1, uint32(stripLen)}, {284, short, 1, 1}, {338, short, 1, 2},
		}
		var e [12]byte
		le.PutUint16(e[:2], uint16(len(entries)))
		out.Write(e[:2])
		for _, x := range entries {
			e = [12]byte{}
			le.PutUint16(e[0:], x.tag)
			le.PutUint16(e[2:], x.typ)
			le.PutUint32(e[4:], x.count)
			if x.typ == short && x.count == 1 {
				le.PutUint16(e[8:], uint16(x.v))
			} else {
				le.PutUint32(e[8:], x.v)
			}
			out.Write(e[:])
		}
		prevNext = out.Len()
		out.Write([]byte{0, 0, 0, 0})
		if int64(out.Len()) > 1<<32-1 {
			return errors.New("tiff: output above 4 GiB")
		}
	}
	_, err := w.Write(out.Bytes())
	return err
}

// tiffMulti masks every page of a multi-page TIFF and writes them all
// again (lossless, only the tags describing the pixels).
func (h *Handler) tiffMulti(ctx context.Context, dst io.Writer, data []byte, bo binary.ByteOrder, pages []uint32, o masking.Options) (masking.Result, error) {
	var total int64
	for _, off := range pages {
		first := bo.Uint32(data[4:8])
		bo.PutUint32(data[4:8], off)
		cfg, err := tiff.DecodeConfig(bytes.NewReader(data))
		bo.PutUint32(data[4:8], first)
		if err != nil {
			return masking.Result{}, masking.Quarantine("TIFF page header cannot be read")
		}
		total += int64(cfg.Width) * int64(cfg.Height)
		if total > maxPixels(o) {
			return masking.Result{}, masking.Quarantine("TIFF pages exceed the pixel limit (%d pages)", len(pages))
		}
	}
	release, err := h.pixels.acquire(ctx, total)
	if err != nil {
		return masking.Result{}, err
	}
	defer release()
	var imgs []image.Image
	var all masked
	for _, off := range pages {
		img, err := decodeTIFFPage(data, bo, off)
		if err != nil {
			return masking.Result{}, masking.Quarantine("TIFF page cannot be decoded")
		}
		m, err := h.mask(ctx, &img, o)
		if err != nil {
			return masking.Result{}, err
		}
		all = all.add(m)
		imgs = append(imgs, img)
	}
	res := masking.Result{Format: "tiff", Ext: ".tif", Actions: []string{"tiff:re-encoded", fmt.Sprintf("tiff:pages:%d", len(imgs))}}
	res.Actions = append(res.Actions, all.actions()...)
	return res, writeTIFFPages(dst, imgs)
}
