//go:build heif

package photo

/*
#cgo pkg-config: libheif
#include <stdlib.h>
#include <string.h>
#include <libheif/heif.h>

// hdw_heif_open reads the primary image of a HEIF file from memory and
// returns its size (after transformations), or an error code.
static int hdw_heif_open(const void *data, size_t n, struct heif_context **ctx, struct heif_image_handle **h, int *w, int *ht) {
	*ctx = heif_context_alloc();
	if (!*ctx) return 1;
	struct heif_error err = heif_context_read_from_memory_without_copy(*ctx, data, n, NULL);
	if (err.code != heif_error_Ok) return 2;
	err = heif_context_get_primary_image_handle(*ctx, h);
	if (err.code != heif_error_Ok) return 3;
	*w = heif_image_handle_get_width(*h);
	*ht = heif_image_handle_get_height(*h);
	return 0;
}

// hdw_heif_decode decodes the primary image as interleaved RGB with its
// rotation and mirroring applied, into out (w*h*3 bytes).
static int hdw_heif_decode(struct heif_image_handle *h, unsigned char *out, int w, int ht) {
	struct heif_image *img = NULL;
	struct heif_decoding_options *opt = heif_decoding_options_alloc();
	opt->ignore_transformations = 0;
	struct heif_error err = heif_decode_image(h, &img, heif_colorspace_RGB, heif_chroma_interleaved_RGB, opt);
	heif_decoding_options_free(opt);
	if (err.code != heif_error_Ok) return 4;
	if (heif_image_get_width(img, heif_channel_interleaved) != w || heif_image_get_height(img, heif_channel_interleaved) != ht) {
		heif_image_release(img);
		return 5;
	}
	int stride = 0;
	const uint8_t *p = heif_image_get_plane_readonly(img, heif_channel_interleaved, &stride);
	if (!p) { heif_image_release(img); return 6; }
	for (int y = 0; y < ht; y++) memcpy(out + (size_t)y*w*3, p + (size_t)y*stride, (size_t)w*3);
	heif_image_release(img);
	return 0;
}

static void hdw_heif_close(struct heif_context *ctx, struct heif_image_handle *h) {
	if (h) heif_image_handle_release(h);
	if (ctx) heif_context_free(ctx);
}
*/
import "C"

import (
	"bufio"
	"context"
	"image"
	"io"
	"unsafe"

	"hdw/masking"
)

// heif decodes the primary image of a HEIC, HEIF or AVIF file with
// Debian's libheif (build tag "heif"), its rotation and mirroring (irot,
// imir) baked in, masks it and writes it as JPEG at quality 95. Nothing
// else of the file is read: EXIF, XMP, thumbnails, depth and auxiliary
// images, and every other item are dropped.
func (h *Handler) heif(ctx context.Context, dst io.Writer, r *bufio.Reader, o masking.Options) (masking.Result, error) {
	cdata, n, free, err := cInput(r, "HEIF")
	if err != nil {
		return masking.Result{}, err
	}
	defer free()
	var hctx *C.struct_heif_context
	var handle *C.struct_heif_image_handle
	var cw, ch C.int
	rc := C.hdw_heif_open(cdata, C.size_t(n), &hctx, &handle, &cw, &ch)
	defer C.hdw_heif_close(hctx, handle)
	if rc != 0 {
		return masking.Result{}, masking.Quarantine("HEIF/AVIF structure cannot be read")
	}
	w, hgt := int(cw), int(ch)
	rgb, release, err := h.cPixels(ctx, w, hgt, 3, o, "heif")
	if err != nil {
		return masking.Result{}, err
	}
	defer release()
	if C.hdw_heif_decode(handle, (*C.uchar)(rgb), cw, ch) != 0 {
		return masking.Result{}, masking.Quarantine("HEIF/AVIF image cannot be decoded (codec missing or damaged)")
	}
	src := unsafe.Slice((*byte)(rgb), w*hgt*3)
	rgba := image.NewRGBA(image.Rect(0, 0, w, hgt))
	for i, j := 0, 0; i < len(src); i, j = i+3, j+4 {
		rgba.Pix[j], rgba.Pix[j+1], rgba.Pix[j+2], rgba.Pix[j+3] = src[i], src[i+1], src[i+2], 0xFF
	}
	res := masking.Result{Format: "jpeg", Ext: ".jpg", Actions: []string{"heif:re-encoded-jpeg", "orientation:baked"}}
	return h.maskEncode(ctx, dst, rgba, o, res, func(w io.Writer, img image.Image) error { return encodeJPEG(w, img, nil) })
}
