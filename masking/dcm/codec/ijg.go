//go:build dcmcodec

package codec

/*
#cgo CXXFLAGS: -std=c++17
#cgo LDFLAGS: -ldcmjpeg -lijg8 -lijg12 -lijg16 -ldcmimgle -ldcmdata -loflog -lofstd -lstdc++
#include <stdlib.h>
#include "ijg.h"
*/
import "C"

import (
	"math"
	"unsafe"
)

// Built reports whether the codecs were built in (the "dcmcodec" tag).
const Built = true

// ijg decodes a JPEG stream with dcmtk's IJG build for bits (8, 12, 16)
// into dst, whose length the caller derived from the checked header.
func ijg(bits int, dst, src []byte, ybr, signed bool) error {
	if len(src) == 0 || len(dst) == 0 || len(src) > math.MaxUint32 || len(dst) > math.MaxUint32 {
		return ErrCorrupt
	}
	rc := C.hdw_ijg_decode(C.int(bits), (*C.uchar)(unsafe.Pointer(&src[0])), C.uint(len(src)),
		(*C.uchar)(unsafe.Pointer(&dst[0])), C.uint(len(dst)), cbool(ybr), cbool(signed))
	if rc != 0 {
		return ErrCorrupt
	}
	return nil
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
