//go:build jxl

package photo

/*
#cgo pkg-config: libjxl
#include <stdlib.h>
#include <jxl/decode.h>

// hdw_jxl_decode reads a JPEG XL image from memory: with out == NULL only
// its size (orientation applied) and whether it is animated; else its
// first and only frame as 8-bit RGBA, orientation applied, into out.
static int hdw_jxl_decode(const uint8_t *data, size_t n, uint32_t *w, uint32_t *h, int *anim, uint8_t *out, size_t outsize) {
	JxlDecoder *dec = JxlDecoderCreate(NULL);
	if (!dec) return 1;
	int events = JXL_DEC_BASIC_INFO | (out ? JXL_DEC_FULL_IMAGE : 0);
	int rc = 2;
	if (JxlDecoderSubscribeEvents(dec, events) != JXL_DEC_SUCCESS) goto done;
	if (JxlDecoderSetInput(dec, data, n) != JXL_DEC_SUCCESS) goto done;
	JxlDecoderCloseInput(dec);
	JxlPixelFormat fmt = {4, JXL_TYPE_UINT8, JXL_NATIVE_ENDIAN, 0};
	for (;;) {
		JxlDecoderStatus st = JxlDecoderProcessInput(dec);
		if (st == JXL_DEC_BASIC_INFO) {
			JxlBasicInfo info;
			if (JxlDecoderGetBasicInfo(dec, &info) != JXL_DEC_SUCCESS) { rc = 3; goto done; }
			*w = info.xsize; *h = info.ysize;
			if (info.orientation > 4) { *w = info.ysize; *h = info.xsize; }
			*anim = info.have_animation;
			if (!out) { rc = 0; goto done; }
		} else if (st == JXL_DEC_NEED_IMAGE_OUT_BUFFER) {
			size_t sz = 0;
			if (JxlDecoderImageOutBufferSize(dec, &fmt, &sz) != JXL_DEC_SUCCESS || sz != outsize) { rc = 4; goto done; }
			if (JxlDecoderSetImageOutBuffer(dec, &fmt, out, sz) != JXL_DEC_SUCCESS) { rc = 5; goto done; }
		} else if (st == JXL_DEC_FULL_IMAGE) {
			rc = 0;
			goto done;
		} else {
			rc = 6; // error, truncated input or success without an image
			goto done;
		}
	}
done:
	JxlDecoderDestroy(dec);
	return rc;
}
*/
import "C"

import (
	"bufio"
	"context"
	"image"
	"image/png"
	"io"
	"unsafe"

	"hdw/masking"
)

// jxl decodes a JPEG XL image with Debian's libjxl (build tag "jxl"), its
// orientation baked in, masks it and writes it as PNG (lossless). Nothing
// else of the file is read: the Exif, XMP and JPEG reconstruction boxes
// are dropped. Animations are quarantined.
func (h *Handler) jxl(ctx context.Context, dst io.Writer, r *bufio.Reader, o masking.Options) (masking.Result, error) {
	cdata, n, free, err := cInput(r, "JPEG XL")
	if err != nil {
		return masking.Result{}, err
	}
	defer free()
	var cw, ch C.uint32_t
	var anim C.int
	if C.hdw_jxl_decode((*C.uint8_t)(cdata), C.size_t(n), &cw, &ch, &anim, nil, 0) != 0 {
		return masking.Result{}, masking.Quarantine("JPEG XL structure cannot be read")
	}
	if anim != 0 {
		return masking.Result{}, masking.Quarantine("JPEG XL animation not supported")
	}
	w, hgt := int(cw), int(ch)
	buf, release, err := h.cPixels(ctx, w, hgt, 4, o, "jxl")
	if err != nil {
		return masking.Result{}, err
	}
	defer release()
	size := w * hgt * 4
	if C.hdw_jxl_decode((*C.uint8_t)(cdata), C.size_t(n), &cw, &ch, &anim, (*C.uint8_t)(buf), C.size_t(size)) != 0 {
		return masking.Result{}, masking.Quarantine("JPEG XL image cannot be decoded")
	}
	nrgba := image.NewNRGBA(image.Rect(0, 0, w, hgt))
	copy(nrgba.Pix, unsafe.Slice((*byte)(buf), size))
	res := masking.Result{Format: "png", Ext: ".png", Actions: []string{"jxl:re-encoded-png", "orientation:baked"}}
	return h.maskEncode(ctx, dst, nrgba, o, res, png.Encode)
}
