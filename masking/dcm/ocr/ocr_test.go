//go:build ocr

package ocr_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"hdw/masking"
	"hdw/masking/dcm"
	"hdw/masking/dcm/ocr"
	"hdw/synth"
)

// TestOCRMasksSyntheticText_SEC_PSE_4 draws text into an ultrasound frame
// and checks that the Tesseract finder locates it so that the masker
// blanks it.
func TestOCRMasksSyntheticText_SEC_PSE_4(t *testing.T) {
	f, in := finderAndText(t)
	var out bytes.Buffer
	o := masking.Options{UIDs: func(u string) string { return "2.25.1" + u[len(u)-1:] }, OCR: f}
	res, err := dcm.New(dcm.Config{}).Deidentify(context.Background(), &out, bytes.NewReader(in), int64(len(in)), masking.Person{Pseudonym: "P1"}, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("actions %v", res.Actions)
	if bytes.Contains(out.Bytes(), []byte("DUBOIS")) {
		t.Fatal("marker left in output")
	}
	boxes, err := f.FindText(context.Background(), gray(t, out.Bytes()), 320, 240)
	if err != nil {
		t.Fatal(err)
	}
	if len(boxes) != 0 {
		t.Errorf("text still found after masking: %v", boxes)
	}
	if n := bytes.Count(gray(t, out.Bytes()), []byte{255}); n != 0 {
		t.Errorf("%d text pixels left", n)
	}
}

// gray returns the 8-bit pixel data of the first frame of a DICOM file.
func gray(t *testing.T, b []byte) []byte {
	t.Helper()
	ds, err := dicom.Parse(bytes.NewReader(b), int64(len(b)), nil, dicom.SkipProcessingPixelDataValue())
	if err != nil {
		t.Fatal(err)
	}
	e, err := ds.FindElementByTag(tag.PixelData)
	if err != nil {
		t.Fatal(err)
	}
	return dicom.MustGetPixelDataInfo(e.Value).UnprocessedValueData[:320*240]
}

func TestFindsText(t *testing.T) {
	f, in := finderAndText(t)
	boxes, err := f.FindText(context.Background(), gray(t, in), 320, 240)
	if err != nil {
		t.Fatal(err)
	}
	if len(boxes) == 0 {
		t.Fatal("no text found")
	}
	t.Logf("boxes %v", boxes)
}

// finderAndText returns the Tesseract finder and a 320x240 ultrasound
// frame with a name drawn in its pixels.
func finderAndText(t *testing.T) (masking.TextFinder, []byte) {
	t.Helper()
	f, err := ocr.New(ocr.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var in bytes.Buffer
	if err := synth.DICOM(&in, synth.DICOMSpec{Modality: "US", Rows: 240, Cols: 320, PlantText: true, Marker: "DUBOIS AMELIE"}); err != nil {
		t.Fatal(err)
	}
	return f, in.Bytes()
}
