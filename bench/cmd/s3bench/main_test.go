package main

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
)

// TestCorpusBuild checks that the benchmark upload keeps synth.NewUpload's
// layout (manifest first, every manifest file present) and regenerates the
// images at the requested sizes.
func TestCorpusBuild(t *testing.T) {
	c := corpus{patients: 3, dicomPer: 2, photosPer: 1, rows: 128, cols: 96, photoW: 64, photoH: 48, seed: 1}
	u, err := c.build()
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Files) != 1+3*3 || u.Files[0].Name != "manifest.csv" {
		t.Fatalf("%d files, first %q", len(u.Files), u.Files[0].Name)
	}
	var m bytes.Buffer
	if err := u.Files[0].Write(&m); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&m).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, r := range rows[1:] {
		listed[r[0]] = true
	}
	for _, f := range u.Files[1:] {
		if !listed[f.Name] {
			t.Errorf("file %d not in the manifest", len(listed))
		}
		var b bytes.Buffer
		if err := f.Write(&b); err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasSuffix(f.Name, ".dcm"):
			if px := 128 * 96 * 2; b.Len() < px || b.Len() > px+4096 {
				t.Errorf("DICOM of %d bytes for %d bytes of pixels", b.Len(), px)
			}
		case strings.HasSuffix(f.Name, ".jpg"):
			if !bytes.HasPrefix(b.Bytes(), []byte{0xFF, 0xD8}) {
				t.Error("photo is not a JPEG")
			}
		}
	}
}
