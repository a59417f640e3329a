//go:build heif || jxl

package photo

// #include <stdlib.h>
import "C"

import (
	"context"
	"fmt"
	"io"
	"unsafe"

	"hdw/masking"
)

// The photo formats decoded by a C library (HEIF with libheif, JPEG XL
// with libjxl) share their memory handling: the file is read whole into C
// memory, and the decoded pixels are written by the library into C memory
// taken from the pixel budget first.

// cInput reads the rest of a file whose C decoder needs it whole
// (readWhole) into C memory: it returns the copy, its length and its free.
func cInput(r io.Reader, format string) (unsafe.Pointer, int, func(), error) {
	data, err := readWhole(r, format)
	if err != nil {
		return nil, 0, nil, err
	}
	c := C.CBytes(data)
	return c, len(data), func() { C.free(c) }, nil
}

// cPixels takes w x hgt pixels from the pixel budget and allocates bpp
// bytes a pixel of C memory for a decoder to write them into; release
// frees the memory and gives the pixels back.
func (h *Handler) cPixels(ctx context.Context, w, hgt, bpp int, o masking.Options, codec string) (buf unsafe.Pointer, release func(), err error) {
	give, err := h.reservePixels(ctx, w, hgt, o)
	if err != nil {
		return nil, nil, err
	}
	buf = C.malloc(C.size_t(w * hgt * bpp))
	if buf == nil {
		give()
		return nil, nil, fmt.Errorf("photo: %s: out of memory", codec)
	}
	return buf, func() { C.free(buf); give() }, nil
}
