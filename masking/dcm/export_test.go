package dcm

import (
	"bytes"
	"testing"

	"github.com/suyashkumar/dicom"

	"hdw/synth"
)

// GenFile writes the synthetic DICOM file s, failing t if it cannot: for
// the tests inside the package (genFile) and outside.
var GenFile = genFile

func genFile(t testing.TB, s synth.DICOMSpec) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := synth.DICOM(&b, s); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// NewLibraryCodec returns a handler that parses and writes with
// suyashkumar/dicom only: the oracle of the fast decoder and encoder.
func NewLibraryCodec(cfg Config) *Handler {
	h := New(cfg)
	h.libraryCodec = true
	return h
}

// DecodeFast and DecodeLibrary parse a whole file with the fast decoder
// (errNotFast when it sends the file to the library) and with the library.
func DecodeFast(b []byte, skipPixels bool) (dicom.Dataset, error) {
	return decodeFast(b, skipPixels, nil, 0)
}

func DecodeLibrary(b []byte, skipPixels bool) (dicom.Dataset, error) {
	return parseLibrary(b, skipPixels)
}

// EncodeFast encodes a dataset with the fast encoder.
func EncodeFast(ds dicom.Dataset) ([]byte, error) { return encodeDataset(nil, ds) }

// ErrNotFast is errNotFast.
var ErrNotFast = errNotFast

// PreScanned reports whether b passes the pre-scan that guards the parser
// against forged lengths (the library allocates them before reading).
func PreScanned(b []byte) bool {
	_, _, err := preScan(b)
	return err == nil
}

// ReadText is readText, the OCR of one grey frame (reduced when large).
var ReadText = readText
