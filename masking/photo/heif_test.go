//go:build heif

package photo_test

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"hdw/internal/testenv"
)

// TestSEC_PSE_4_HEIFCleaned encodes HEIC and AVIF files with libheif's
// heif-enc (with a thumbnail item), plants EXIF and XMP with exiftool,
// and checks that the output, a JPEG of the primary image, holds none of
// them (exiftool -a -G1 as the independent checker).
func TestSEC_PSE_4_HEIFCleaned(t *testing.T) {
	testenv.Tool(t, "heif-enc", "make deps installs libheif-examples")
	dir := t.TempDir()
	src := testImage(64, 48)
	var p bytes.Buffer
	if err := png.Encode(&p, src); err != nil {
		t.Fatal(err)
	}
	pngPath := filepath.Join(dir, "in.png")
	if err := os.WriteFile(pngPath, p.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ ext, flag string }{{".heic", ""}, {".avif", "-A"}} {
		t.Run(c.ext, func(t *testing.T) {
			out := filepath.Join(dir, "in"+c.ext)
			args := []string{"-q", "90", "-t", "16", "-o", out, pngPath}
			if c.flag != "" {
				args = append([]string{c.flag}, args...)
			}
			in := toolOutput(t, out, "heif-enc", args...)
			in = exifPlant(t, in, c.ext, "-EXIF:Artist="+plantMarker, "-EXIF:ImageDescription="+plantMarker, "-XMP-dc:Creator="+plantMarker)
			img := deidClean(t, in, "jpeg")
			if img.Bounds() != image.Rect(0, 0, 64, 48) {
				t.Fatalf("bounds %v", img.Bounds())
			}
			r, g, _, _ := img.At(40, 30).RGBA()
			wr, wg, _, _ := src.At(40, 30).RGBA()
			if d := int(r>>8) - int(wr>>8); d > 24 || d < -24 {
				t.Errorf("red %d, want about %d", r>>8, wr>>8)
			}
			if d := int(g>>8) - int(wg>>8); d > 24 || d < -24 {
				t.Errorf("green %d, want about %d", g>>8, wg>>8)
			}
		})
	}
}
