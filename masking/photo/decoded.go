package photo

import (
	"bufio"
	"bytes"
	"context"
	"image"
	"image/draw"
	"image/gif"
	"image/png"
	"io"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"

	"hdw/masking"
)

// TIFF, WebP, BMP and GIF: decoded, masked and re-encoded (no metadata
// carried over).

// single-image formats decoded with the standard library or x/image:
// their header reader, decoder and the output written (TIFF stays TIFF,
// the others become PNG: lossless).
var singleImage = map[string]struct {
	config       func(io.Reader) (image.Config, error)
	decode       func(io.Reader) (image.Image, error)
	headerReason string
	action       string
}{
	"tiff": {tiff.DecodeConfig, tiff.Decode, "tiff header cannot be read", "tiff:re-encoded"},
	"webp": {webp.DecodeConfig, webp.Decode, "webp header cannot be read", "webp:re-encoded"},
	// A BMP carries no metadata but an optional colour profile.
	"bmp": {bmp.DecodeConfig, bmp.Decode, "BMP header cannot be read (or BMP variant not supported)", "bmp:re-encoded-png"},
}

// decoded decodes a TIFF (each page of a multi-page one), WebP or BMP,
// masks it and writes it again: nothing of the file but its pixels is
// carried over.
func (h *Handler) decoded(ctx context.Context, dst io.Writer, r *bufio.Reader, o masking.Options, format string) (masking.Result, error) {
	data, err := readWhole(r, format)
	if err != nil {
		return masking.Result{}, err
	}
	f := singleImage[format]
	if format == "tiff" {
		pages, bo, perr := tiffPages(data)
		if perr != nil {
			return masking.Result{}, masking.Quarantine("TIFF structure is damaged (image file directories)")
		}
		if len(pages) > 1 {
			return h.tiffMulti(ctx, dst, data, bo, pages, o)
		}
	}
	release, err := h.reserve(ctx, data, o, f.headerReason, f.config)
	if err != nil {
		return masking.Result{}, err
	}
	defer release()
	img, err := f.decode(bytes.NewReader(data))
	if err != nil {
		if format == "bmp" {
			return masking.Result{}, masking.Quarantine("BMP cannot be decoded")
		}
		return masking.Result{}, masking.Quarantine("%s cannot be decoded", format)
	}
	res := masking.Result{Format: "png", Ext: ".png", Actions: []string{f.action}}
	encode := png.Encode
	if format == "tiff" {
		res.Format, res.Ext = "tiff", ".tif"
		encode = func(w io.Writer, img image.Image) error {
			return tiff.Encode(w, img, &tiff.Options{Compression: tiff.Deflate})
		}
	}
	return h.maskEncode(ctx, dst, img, o, res, encode)
}

// maskEncode masks img and writes it with encode: res, the output's
// format and the actions before masking, gets the masking's actions.
func (h *Handler) maskEncode(ctx context.Context, dst io.Writer, img image.Image, o masking.Options, res masking.Result, encode func(io.Writer, image.Image) error) (masking.Result, error) {
	m, err := h.mask(ctx, &img, o)
	if err != nil {
		return masking.Result{}, err
	}
	res.Actions = append(res.Actions, m.actions()...)
	return res, encode(dst, img)
}

// reserve reads the dimensions of the image in data (decodeConfig),
// checks them against the pixel limit and takes them from the pixel
// budget before anything is decoded; it returns their release. A header
// that cannot be read is quarantined with headerReason.
func (h *Handler) reserve(ctx context.Context, data []byte, o masking.Options, headerReason string, decodeConfig func(io.Reader) (image.Config, error)) (func(), error) {
	cfg, err := decodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, masking.Quarantine("%s", headerReason)
	}
	return h.reservePixels(ctx, cfg.Width, cfg.Height, o)
}

// reservePixels checks w x hgt pixels against the limit (an image without
// pixels is refused too) and takes them from the pixel budget; it returns
// their release.
func (h *Handler) reservePixels(ctx context.Context, w, hgt int, o masking.Options) (func(), error) {
	if w <= 0 || hgt <= 0 || int64(w)*int64(hgt) > maxPixels(o) {
		return nil, masking.Quarantine("image dimensions exceed limit (%dx%d)", w, hgt)
	}
	return h.pixels.acquire(ctx, int64(w)*int64(hgt))
}

// ---- BMP, GIF: decode and re-encode losslessly ----

// gif decodes every frame of a GIF and writes them again with Go's encoder,
// which writes no comment, plain-text or application extension but the
// loop count: XMP and comments are dropped. Each frame is masked; a
// single-frame GIF is written as PNG (lossless), an animation as GIF
// (lossless: the frames keep their palettes).
func (h *Handler) gif(ctx context.Context, dst io.Writer, r *bufio.Reader, o masking.Options) (masking.Result, error) {
	data, err := readWhole(r, "GIF")
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
	var all masked
	for i, fr := range g.Image {
		img := image.Image(fr)
		m, err := h.mask(ctx, &img, o)
		if err != nil {
			return masking.Result{}, err
		}
		all = all.add(m)
		if m.regions+m.eyes > 0 {
			p := image.NewPaletted(fr.Bounds(), fr.Palette)
			draw.Draw(p, p.Bounds(), img, img.Bounds().Min, draw.Src)
			g.Image[i] = p
		}
	}
	actions := append([]string{"gif:re-encoded"}, all.actions()...)
	if len(g.Image) == 1 {
		return masking.Result{Format: "png", Ext: ".png", Actions: actions}, png.Encode(dst, g.Image[0])
	}
	out := &gif.GIF{Image: g.Image, Delay: g.Delay, Disposal: g.Disposal, LoopCount: g.LoopCount, Config: g.Config, BackgroundIndex: g.BackgroundIndex}
	return masking.Result{Format: "gif", Ext: ".gif", Actions: actions}, gif.EncodeAll(dst, out)
}
