//go:build jxl

package photo_test

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hdw/internal/testenv"
	"hdw/masking"
	"hdw/synth"
)

// TestSEC_PSE_4_JXLCleaned: a JPEG with EXIF (identifiers, orientation 6),
// XMP and IPTC recompressed losslessly to JPEG XL by Debian's cjxl (which
// keeps them in compressed Exif, xml and jbrd boxes) comes out as PNG with none of
// them (exiftool -a -G1 as the checker), the orientation baked.
func TestSEC_PSE_4_JXLCleaned(t *testing.T) {
	testenv.Tool(t, "cjxl", "make deps installs libjxl-tools")
	p, _ := testPerson()
	var jpg bytes.Buffer
	if err := synth.JPEG(&jpg, synth.PhotoSpec{Person: p, W: 64, H: 48, Orientation: 6}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.jpg"), filepath.Join(dir, "in.jxl")
	if err := os.WriteFile(in, jpg.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	data := toolOutput(t, out, "cjxl", in, out)
	// cjxl keeps the metadata in brotli-compressed boxes (brob), which
	// exiftool 12.57 does not read: check they are there to be removed.
	for _, box := range []string{"brobExif", "brobxml ", "jbrd"} {
		if !bytes.Contains(data, []byte(box)) {
			t.Fatalf("the JPEG XL file has no %q box to remove", box)
		}
	}
	got, res, err := deid(t, data, masking.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("actions %v", res.Actions)
	if res.Format != "png" {
		t.Fatalf("format %q", res.Format)
	}
	dump := exiftool(t, got, ".png")
	for _, v := range planted(p)[:6] {
		if strings.Contains(dump, v) || bytes.Contains(got, []byte(v)) {
			t.Errorf("%q survives", v)
		}
	}
	img, err := png.Decode(bytes.NewReader(got))
	if err != nil {
		t.Fatal(err)
	}
	// Orientation 6 turns the 64x48 picture upright: 48x64.
	if img.Bounds() != image.Rect(0, 0, 48, 64) {
		t.Errorf("bounds %v, want 48x64 (orientation baked)", img.Bounds())
	}
}
