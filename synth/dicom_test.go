package synth_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"hdw/synth"
)

func TestDICOMParses(t *testing.T) {
	cases := []struct {
		name string
		spec synth.DICOMSpec
	}{
		{"ct16", synth.DICOMSpec{Modality: "CT", Marker: "ZORGLUB"}},
		{"us8-text", synth.DICOMSpec{Modality: "US", PlantText: true, Marker: "ZORGLUB", Rows: 120, Cols: 160}},
		{"multiframe", synth.DICOMSpec{Modality: "US", Frames: 3}},
		{"implicit", synth.DICOMSpec{TransferSyntax: synth.ImplicitVRLittleEndian, Marker: "ZORGLUB"}},
		{"jpeg", synth.DICOMSpec{Modality: "SC", TransferSyntax: synth.JPEGBaseline, Frames: 2}},
		{"extra", synth.DICOMSpec{Extra: []synth.DICOMElement{{Tag: 0x00081030, VR: "LO", Value: "STUDY DESC"},
			{Tag: 0x00400275, VR: "SQ", Items: [][]synth.DICOMElement{{{Tag: 0x00321060, VR: "LO", Value: "NESTED"}}}}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var a, b bytes.Buffer
			if err := synth.DICOM(&a, c.spec); err != nil {
				t.Fatal(err)
			}
			if err := synth.DICOM(&b, c.spec); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a.Bytes(), b.Bytes()) {
				t.Fatal("output is not deterministic")
			}
			ds, err := dicom.Parse(bytes.NewReader(a.Bytes()), int64(a.Len()), nil, dicom.SkipProcessingPixelDataValue())
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if _, err := ds.FindElementByTag(tag.PixelData); err != nil {
				t.Fatalf("no pixel data: %v", err)
			}
			if c.spec.Marker != "" && !bytes.Contains(a.Bytes(), []byte(c.spec.Marker)) {
				t.Fatal("marker not planted")
			}
			if p, err := exec.LookPath("dcmdump"); err == nil {
				f := filepath.Join(t.TempDir(), "x.dcm")
				if err := os.WriteFile(f, a.Bytes(), 0o600); err != nil {
					t.Fatal(err)
				}
				out, err := exec.Command(p, "-q", f).CombinedOutput()
				if err != nil || strings.Contains(string(out), "E: ") {
					t.Fatalf("dcmdump: %v\n%s", err, out)
				}
			}
		})
	}
}
