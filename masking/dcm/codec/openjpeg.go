//go:build dcmcodec

package codec

/*
#cgo pkg-config: libopenjp2
#include <string.h>
#include <openjpeg.h>

typedef struct { const unsigned char *p; OPJ_SIZE_T len, off; } hdw_mem;

static OPJ_SIZE_T hdw_read(void *buf, OPJ_SIZE_T n, void *u) {
	hdw_mem *m = (hdw_mem *)u;
	if (m->off >= m->len) return (OPJ_SIZE_T)-1;
	if (n > m->len - m->off) n = m->len - m->off;
	memcpy(buf, m->p + m->off, n);
	m->off += n;
	return n;
}
static OPJ_OFF_T hdw_skip(OPJ_OFF_T n, void *u) {
	hdw_mem *m = (hdw_mem *)u;
	if (n < 0) {
		if ((OPJ_SIZE_T)(-n) > m->off) return -1;
	} else if ((OPJ_SIZE_T)n > m->len - m->off) {
		n = (OPJ_OFF_T)(m->len - m->off);
	}
	m->off += n;
	return n;
}
static OPJ_BOOL hdw_seek(OPJ_OFF_T n, void *u) {
	hdw_mem *m = (hdw_mem *)u;
	if (n < 0 || (OPJ_SIZE_T)n > m->len) return OPJ_FALSE;
	m->off = (OPJ_SIZE_T)n;
	return OPJ_TRUE;
}
static void hdw_quiet(const char *msg, void *u) { (void)msg; (void)u; }

// hdw_j2k_decode decodes one J2K codestream (jp2: a JP2 file) of rows x
// cols x comps samples of at most 16 bits into dst, interleaved, width
// bytes per sample, little endian. Returns 0 on success.
static int hdw_j2k_decode(const unsigned char *src, size_t srclen, int jp2,
                          unsigned char *dst, size_t dstlen,
                          int rows, int cols, int comps, int width) {
	if (src == NULL || dst == NULL || rows <= 0 || cols <= 0 || comps <= 0 || (width != 1 && width != 2)) return -1;
	if ((size_t)rows * (size_t)cols * (size_t)comps * (size_t)width != dstlen) return -1;
	hdw_mem m = {src, srclen, 0};
	opj_codec_t *codec = opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
	if (codec == NULL) return -2;
	opj_set_info_handler(codec, hdw_quiet, NULL);
	opj_set_warning_handler(codec, hdw_quiet, NULL);
	opj_set_error_handler(codec, hdw_quiet, NULL);
	opj_dparameters_t par;
	opj_set_default_decoder_parameters(&par);
	opj_stream_t *st = NULL;
	opj_image_t *img = NULL;
	int rc = -3;
	if (!opj_setup_decoder(codec, &par)) goto out;
	st = opj_stream_create(65536, OPJ_TRUE);
	if (st == NULL) goto out;
	opj_stream_set_user_data(st, &m, NULL);
	opj_stream_set_user_data_length(st, srclen);
	opj_stream_set_read_function(st, hdw_read);
	opj_stream_set_skip_function(st, hdw_skip);
	opj_stream_set_seek_function(st, hdw_seek);
	if (!opj_read_header(st, codec, &img) || img == NULL) goto out;
	// The header again, as the library read it: nothing is decoded
	// unless it matches the dicom header.
	rc = -4;
	if ((int)img->numcomps != comps || img->x1 <= img->x0 || img->y1 <= img->y0 ||
	    (int)(img->x1 - img->x0) != cols || (int)(img->y1 - img->y0) != rows) goto out;
	for (int c = 0; c < comps; c++) {
		opj_image_comp_t *k = &img->comps[c];
		if (k->dx != 1 || k->dy != 1 || k->prec < 1 || k->prec > (OPJ_UINT32)(8 * width)) goto out;
	}
	rc = -5;
	if (!opj_decode(codec, st, img) || !opj_end_decompress(codec, st)) goto out;
	rc = -6;
	for (int c = 0; c < comps; c++) {
		opj_image_comp_t *k = &img->comps[c];
		if (k->data == NULL || (int)k->w != cols || (int)k->h != rows) goto out;
	}
	for (size_t i = 0; i < (size_t)rows * (size_t)cols; i++) {
		for (int c = 0; c < comps; c++) {
			OPJ_INT32 v = img->comps[c].data[i];
			size_t o = (i * (size_t)comps + (size_t)c) * (size_t)width;
			dst[o] = (unsigned char)(v & 0xFF);
			if (width == 2) dst[o + 1] = (unsigned char)((v >> 8) & 0xFF);
		}
	}
	rc = 0;
out:
	if (img) opj_image_destroy(img);
	if (st) opj_stream_destroy(st);
	opj_destroy_codec(codec);
	return rc;
}
*/
import "C"

import "unsafe"

// openjpeg decodes a JPEG 2000 frame (jp2: a JP2 file) into dst, whose
// length the caller derived from the checked header.
func openjpeg(dst, src []byte, jp2 bool, s Spec) error {
	if len(src) == 0 || len(dst) == 0 {
		return ErrCorrupt
	}
	rc := C.hdw_j2k_decode((*C.uchar)(unsafe.Pointer(&src[0])), C.size_t(len(src)), cbool(jp2),
		(*C.uchar)(unsafe.Pointer(&dst[0])), C.size_t(len(dst)),
		C.int(s.Rows), C.int(s.Cols), C.int(s.Samples), C.int(s.BitsAllocated/8))
	if rc != 0 {
		return ErrCorrupt
	}
	return nil
}
