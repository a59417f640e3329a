package photo

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/draw"
	"image/gif"
	"image/png"
	"io"

	"golang.org/x/image/bmp"

	"hdw/masking"
)

// ---- BMP, GIF: decode and re-encode losslessly ----

// isBMP reports a Windows bitmap: "BM" and a known DIB header size.
func isBMP(head []byte) bool {
	if len(head) < 18 || head[0] != 'B' || head[1] != 'M' {
		return false
	}
	switch binary.LittleEndian.Uint32(head[14:18]) {
	case 12, 40, 52, 56, 64, 108, 124:
		return true
	}
	return false
}

// isJXL reports a JPEG XL codestream or container.
func isJXL(head []byte) bool {
	return bytes.HasPrefix(head, []byte{0xFF, 0x0A}) || bytes.HasPrefix(head, []byte("\x00\x00\x00\x0cJXL \r\n\x87\n"))
}

// heifBrands are the ISO BMFF major brands of HEIF, HEIC and AVIF files.
var heifBrands = map[string]bool{"heic": true, "heix": true, "hevc": true, "hevx": true, "heim": true, "heis": true,
	"mif1": true, "msf1": true, "avif": true, "avis": true}

// bmp decodes a BMP (which carries no metadata but an optional colour
// profile) and writes it as PNG, lossless.
func (h *Handler) bmp(ctx context.Context, dst io.Writer, r *bufio.Reader, o masking.Options) (masking.Result, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return masking.Result{}, err
	}
	release, err := h.reserve(ctx, data, o, "BMP header cannot be read (or BMP variant not supported)", bmp.DecodeConfig)
	if err != nil {
		return masking.Result{}, err
	}
	defer release()
	img, err := bmp.Decode(bytes.NewReader(data))
	if err != nil {
		return masking.Result{}, masking.Quarantine("BMP cannot be decoded")
	}
	n, eyes, err := h.mask(ctx, &img, o)
	if err != nil {
		return masking.Result{}, err
	}
	res := masking.Result{Format: "png", Ext: ".png", Actions: []string{"bmp:re-encoded-png", fmt.Sprintf("masked-regions:%d", n), fmt.Sprintf("masked-eyes:%d", eyes)}}
	return res, png.Encode(dst, img)
}

// gif decodes every frame of a GIF and writes them again with Go's encoder,
// which writes no comment, plain-text or application extension but the
// loop count: XMP and comments are dropped. Each frame is masked; a
// single-frame GIF is written as PNG (lossless), an animation as GIF
// (lossless: the frames keep their palettes).
func (h *Handler) gif(ctx context.Context, dst io.Writer, r *bufio.Reader, o masking.Options) (masking.Result, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return masking.Result{}, err
	}
	release, err := h.reserve(ctx, data, o, "GIF header cannot be read", gif.DecodeConfig)
	if err != nil {
		return masking.Result{}, err
	}
	defer release()
	g, err := gif.DecodeAll(bytes.NewReader(data))
	if err != nil || len(g.Image) == 0 {
		return masking.Result{}, masking.Quarantine("GIF cannot be decoded")
	}
	if int64(len(g.Image))*int64(g.Config.Width)*int64(g.Config.Height) > maxPixels(o) {
		return masking.Result{}, masking.Quarantine("GIF frames exceed the pixel limit (%d frames)", len(g.Image))
	}
	regions, eyes := 0, 0
	for i, fr := range g.Image {
		img := image.Image(fr)
		n, e, err := h.mask(ctx, &img, o)
		if err != nil {
			return masking.Result{}, err
		}
		regions, eyes = regions+n, eyes+e
		if n+e > 0 {
			p := image.NewPaletted(fr.Bounds(), fr.Palette)
			draw.Draw(p, p.Bounds(), img, img.Bounds().Min, draw.Src)
			g.Image[i] = p
		}
	}
	actions := []string{"gif:re-encoded", fmt.Sprintf("masked-regions:%d", regions), fmt.Sprintf("masked-eyes:%d", eyes)}
	if len(g.Image) == 1 {
		return masking.Result{Format: "png", Ext: ".png", Actions: actions}, png.Encode(dst, g.Image[0])
	}
	out := &gif.GIF{Image: g.Image, Delay: g.Delay, Disposal: g.Disposal, LoopCount: g.LoopCount, Config: g.Config, BackgroundIndex: g.BackgroundIndex}
	return masking.Result{Format: "gif", Ext: ".gif", Actions: actions}, gif.EncodeAll(dst, out)
}
