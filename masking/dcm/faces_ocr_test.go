//go:build ocr

package dcm_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"hdw/masking/dcm"
)

// TestIssue20_DICOMPhotoWithTesseract: with the production OCR (Tesseract)
// looking for burned-in text, a DICOM photograph with a face is stored
// with its face filled, and a face-free one is stored too.
func TestIssue20_DICOMPhotoWithTesseract(t *testing.T) {
	f := tesseract(t)
	rgb, rows, cols := portrait(t)
	for _, c := range []struct {
		name   string
		in     []byte
		action string
	}{
		{"face", gen(t, photoSpec("XC", vlPhotoClass, rgb, rows, cols, "")), "masked-faces:"},
		{"no-face", gen(t, photoSpec("XC", vlPhotoClass, faceFree(120, 160), 120, 160, "")), dcm.ActionFacesNone},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := opts()
			o.Faces, o.OCR = true, f
			var out bytes.Buffer
			res, err := dcm.New(dcm.Config{Faces: faceFinder}).Deidentify(context.Background(), &out, bytes.NewReader(c.in), int64(len(c.in)), person(), o)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("actions %v", res.Actions)
			if !slices.ContainsFunc(res.Actions, func(a string) bool { return strings.HasPrefix(a, c.action) }) {
				t.Errorf("actions %v lack %q", res.Actions, c.action)
			}
			dcmdumpCheck(t, out.Bytes(), []planted{{"patient name", "Dubois"}})
		})
	}
}
