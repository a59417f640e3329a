//go:build dcmcodec

package codec

/*
#cgo LDFLAGS: -lcharls
#include <stdlib.h>
#include <string.h>
#include <charls/charls.h>

// hdw_jls_decode decodes one JPEG-LS frame of rows x cols x comps samples
// into dst (width bytes per sample, interleaved by pixel, host order);
// tmp holds dstlen bytes for a frame coded component by component.
// near receives the near-lossless bound. Returns 0 on success.
static int hdw_jls_decode(const unsigned char *src, size_t srclen, unsigned char *dst, unsigned char *tmp,
                          size_t dstlen, int rows, int cols, int comps, int width, int *near) {
	if (src == NULL || dst == NULL || tmp == NULL || rows <= 0 || cols <= 0 || comps <= 0 || (width != 1 && width != 2)) return -1;
	if ((size_t)rows * (size_t)cols * (size_t)comps * (size_t)width != dstlen) return -1;
	charls_jpegls_decoder *d = charls_jpegls_decoder_create();
	if (d == NULL) return -2;
	int rc = -3;
	charls_frame_info fi;
	charls_interleave_mode mode;
	int32_t nl = 0;
	size_t need = 0;
	if (charls_jpegls_decoder_set_source_buffer(d, src, srclen) != 0) goto out;
	if (charls_jpegls_decoder_read_header(d) != 0) goto out;
	if (charls_jpegls_decoder_get_frame_info(d, &fi) != 0) goto out;
	rc = -4;
	if ((int)fi.width != cols || (int)fi.height != rows || fi.component_count != comps ||
	    fi.bits_per_sample < 2 || fi.bits_per_sample > 8 * width) goto out;
	if (charls_jpegls_decoder_get_near_lossless(d, 0, &nl) != 0) goto out;
	if (charls_jpegls_decoder_get_interleave_mode(d, &mode) != 0) goto out;
	if (charls_jpegls_decoder_get_destination_size(d, 0, &need) != 0 || need != dstlen) goto out;
	rc = -5;
	if (comps == 1 || mode != CHARLS_INTERLEAVE_MODE_NONE) {
		if (charls_jpegls_decoder_decode_to_buffer(d, dst, dstlen, 0) != 0) goto out;
	} else {
		if (charls_jpegls_decoder_decode_to_buffer(d, tmp, dstlen, 0) != 0) goto out;
		size_t plane = (size_t)rows * (size_t)cols;
		for (size_t i = 0; i < plane; i++)
			for (int c = 0; c < comps; c++)
				memcpy(dst + (i * comps + c) * width, tmp + (c * plane + i) * width, width);
	}
	*near = nl;
	rc = 0;
out:
	charls_jpegls_decoder_destroy(d);
	return rc;
}
*/
import "C"

import "unsafe"

// charls decodes a JPEG-LS frame into dst (width bytes per sample, host
// order), whose length the caller derived from the checked header, and
// returns its near-lossless bound.
func charls(dst, src []byte, s Spec, width int) (int, error) {
	if len(src) == 0 || len(dst) == 0 {
		return 0, ErrCorrupt
	}
	tmp := dst // used only for a frame coded component by component
	if s.Samples > 1 {
		tmp = make([]byte, len(dst))
	}
	var near C.int
	rc := C.hdw_jls_decode((*C.uchar)(unsafe.Pointer(&src[0])), C.size_t(len(src)),
		(*C.uchar)(unsafe.Pointer(&dst[0])), (*C.uchar)(unsafe.Pointer(&tmp[0])), C.size_t(len(dst)),
		C.int(s.Rows), C.int(s.Cols), C.int(s.Samples), C.int(width), &near)
	if rc != 0 {
		return 0, ErrCorrupt
	}
	return int(near), nil
}
