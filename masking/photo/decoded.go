package photo

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/png"
	"io"

	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"

	"hdw/masking"
)

// TIFF and WebP: decoded, masked and re-encoded (no metadata carried over).

func (h *Handler) decoded(ctx context.Context, dst io.Writer, r *bufio.Reader, o masking.Options, format string) (masking.Result, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return masking.Result{}, err
	}
	decodeConfig := webp.DecodeConfig
	if format == "tiff" {
		pages, bo, perr := tiffPages(data)
		if perr != nil {
			return masking.Result{}, masking.Quarantine("TIFF structure is damaged (image file directories)")
		}
		if len(pages) > 1 {
			return h.tiffMulti(ctx, dst, data, bo, pages, o)
		}
		decodeConfig = tiff.DecodeConfig
	}
	release, err := h.reserve(ctx, data, o, format+" header cannot be read", decodeConfig)
	if err != nil {
		return masking.Result{}, err
	}
	defer release()
	var img image.Image
	if format == "tiff" {
		img, err = tiff.Decode(bytes.NewReader(data))
	} else {
		img, err = webp.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return masking.Result{}, masking.Quarantine("%s cannot be decoded", format)
	}
	n, eyes, err := h.mask(ctx, &img, o)
	if err != nil {
		return masking.Result{}, err
	}
	res := masking.Result{Actions: []string{format + ":re-encoded", fmt.Sprintf("masked-regions:%d", n), fmt.Sprintf("masked-eyes:%d", eyes)}}
	if format == "tiff" {
		res.Format, res.Ext = "tiff", ".tif"
		return res, tiff.Encode(dst, img, &tiff.Options{Compression: tiff.Deflate})
	}
	res.Format, res.Ext = "png", ".png"
	return res, png.Encode(dst, img)
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
	regions, eyes := 0, 0
	for _, off := range pages {
		img, err := decodeTIFFPage(data, bo, off)
		if err != nil {
			return masking.Result{}, masking.Quarantine("TIFF page cannot be decoded")
		}
		n, e, err := h.mask(ctx, &img, o)
		if err != nil {
			return masking.Result{}, err
		}
		regions, eyes = regions+n, eyes+e
		imgs = append(imgs, img)
	}
	res := masking.Result{Format: "tiff", Ext: ".tif", Actions: []string{"tiff:re-encoded", fmt.Sprintf("tiff:pages:%d", len(imgs)), fmt.Sprintf("masked-regions:%d", regions), fmt.Sprintf("masked-eyes:%d", eyes)}}
	return res, writeTIFFPages(dst, imgs)
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
	if int64(cfg.Width)*int64(cfg.Height) > maxPixels(o) {
		return nil, masking.Quarantine("image dimensions exceed limit (%dx%d)", cfg.Width, cfg.Height)
	}
	return h.pixels.acquire(ctx, int64(cfg.Width)*int64(cfg.Height))
}
