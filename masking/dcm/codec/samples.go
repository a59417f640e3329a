package codec

import (
	"encoding/binary"
	"unsafe"
)

// littleEndian: the host stores integers little-endian, as DICOM's
// native transfer syntax does.
var littleEndian = func() bool { x := uint16(1); return *(*byte)(unsafe.Pointer(&x)) == 1 }()

// nativeToLittle16 turns host-order 16-bit samples into little-endian ones.
func nativeToLittle16(b []byte) {
	if littleEndian {
		return
	}
	for i := 0; i+1 < len(b); i += 2 {
		b[i], b[i+1] = b[i+1], b[i]
	}
}

// widen writes 8-bit samples as 16-bit little-endian ones.
func widen(dst, src []byte, signed bool) {
	for i, v := range src {
		w := uint16(v)
		if signed {
			w = uint16(int16(int8(v)))
		}
		binary.LittleEndian.PutUint16(dst[2*i:], w)
	}
}
