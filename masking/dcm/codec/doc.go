// Package codec decodes the frames of encapsulated DICOM pixel data that
// Go's standard library cannot: JPEG lossless (processes 14 and SV1),
// JPEG extended 12-bit, JPEG 2000 and JPEG-LS. It owns the checks that
// come before any C code runs (the codestream's declared size, sample
// count and precision must match what the DICOM header says, so that a
// decompression bomb is refused before anything is allocated) and the
// calls into Debian's maintained libraries through cgo: dcmtk's IJG
// builds (libijg8, libijg12, libijg16 behind dcmtk's DJDecompressIJG*
// classes), OpenJPEG 2.5 and CharLS 2.4. The C code is built only with
// the "dcmcodec" build tag; without it [Built] is false, every decoder
// returns [ErrNotBuilt] once the header checks pass, and the default build
// needs no C library.
//
// Decoded frames are native little-endian samples, interleaved by pixel,
// one byte per sample for 8 bits allocated and two for 16.
package codec

import "errors"

// ErrNotBuilt is returned by every decoder when hdw was built without the
// "dcmcodec" build tag.
var ErrNotBuilt = errors.New("codec: built without the dcmcodec tag (dcmtk, openjpeg, charls)")

// ErrMismatch is returned when a codestream declares another size, sample
// count or precision than the DICOM header: nothing is decoded (a forged
// header could otherwise ask for gigabytes).
var ErrMismatch = errors.New("codec: codestream size or layout differs from the dicom header")

// ErrCorrupt is returned for a codestream that cannot be read or decoded.
var ErrCorrupt = errors.New("codec: codestream cannot be decoded")

// Spec is what the DICOM header says of a frame.
type Spec struct {
	Rows, Cols    int
	Samples       int  // 1 or 3
	BitsAllocated int  // 8 or 16
	Signed        bool // Pixel Representation 1
	// YBR: the Photometric Interpretation is YBR_FULL or YBR_FULL_422:
	// JPEG color frames are converted to RGB (as dcmtk's dcmdjpeg does).
	// JPEG 2000 follows its codestream's component transform instead.
	YBR bool
}

// FrameLen is the length in bytes of one decoded frame.
func (s Spec) FrameLen() int { return s.Rows * s.Cols * s.Samples * (s.BitsAllocated / 8) }

func (s Spec) valid() bool {
	return s.Rows > 0 && s.Cols > 0 && s.Rows <= 65535 && s.Cols <= 65535 &&
		(s.Samples == 1 || s.Samples == 3) && (s.BitsAllocated == 8 || s.BitsAllocated == 16)
}

// Info tells what a decoded frame was.
type Info struct {
	// Lossy: the codestream used an irreversible process (JPEG DCT
	// processes, the JPEG 2000 9-7 wavelet, JPEG-LS near-lossless).
	Lossy bool
	// RGB: color samples were converted to RGB (JPEG from YCbCr, JPEG
	// 2000 by its inverse component transform).
	RGB bool
}
