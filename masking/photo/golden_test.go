package photo_test

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/disintegration/imaging"

	"hdw/masking"
	"hdw/synth"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/photo")

// jpegLayout lists a JPEG's segments (marker and, for APPn, its signature)
// up to SOS, then the bytes after EOI.
func jpegLayout(t *testing.T, b []byte) string {
	t.Helper()
	var out []string
	i := 2
	for i+4 <= len(b) && b[i] == 0xFF {
		m := b[i+1]
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		name := fmt.Sprintf("FF%02X", m)
		if m >= 0xE0 && m <= 0xEF { // APPn signature; COM content is not printed
			sig := b[i+4 : min(i+2+n, i+4+12, len(b))]
			if k := bytes.IndexByte(sig, 0); k >= 0 {
				sig = sig[:k]
			}
			name += fmt.Sprintf("(%q)", sig)
		}
		out = append(out, name)
		if m == 0xDA {
			break
		}
		i += 2 + n
	}
	eoi := bytes.LastIndex(b, []byte{0xFF, 0xD9})
	out = append(out, fmt.Sprintf("after-EOI:%d", len(b)-eoi-2))
	return strings.Join(out, "\n") + "\n"
}

// pngLayout lists a PNG's chunk types.
func pngLayout(b []byte) string {
	var out []string
	for i := 8; i+8 <= len(b); {
		n := int(binary.BigEndian.Uint32(b[i:]))
		out = append(out, string(b[i+4:i+8]))
		i += 12 + n
	}
	return strings.Join(out, "\n") + "\n"
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := "../../testdata/photo/" + name
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s: got\n%s\nwant\n%s", name, got, want)
	}
}

// TestSEC_PSE_4_RewriterGolden pins the segment and chunk layout of the
// rewriters' output: input layouts are recorded too, so the golden files
// show what was dropped (EXIF, XMP, extended XMP, IPTC, COM, MPF, trailer;
// PNG text chunks) and what was kept (JFIF, ICC, critical chunks).
func TestSEC_PSE_4_RewriterGolden(t *testing.T) {
	p, _ := testPerson()
	var j bytes.Buffer
	if err := synth.JPEG(&j, synth.PhotoSpec{Person: p, W: 32, H: 24}); err != nil {
		t.Fatal(err)
	}
	in := withICC(j.Bytes(), []byte("synthetic-icc"))
	out, _, err := deid(t, in, masking.Options{})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "jpeg-in.golden", jpegLayout(t, in))
	golden(t, "jpeg-out.golden", jpegLayout(t, out))

	var pg bytes.Buffer
	if err := synth.TextPNG(&pg, p, 8, 8); err != nil {
		t.Fatal(err)
	}
	out, _, err = deid(t, pg.Bytes(), masking.Options{})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "png-in.golden", pngLayout(pg.Bytes()))
	golden(t, "png-out.golden", pngLayout(out))
}

// TestDecompressionBombJPEG: a SOF claiming 65535 x 65535 is refused from
// the header, quickly and without allocating the image.
func TestDecompressionBombJPEG(t *testing.T) {
	sof := []byte{0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0x03,
		0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xFF, 0xD9}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, _, err := deid(t, sof, masking.Options{})
	runtime.ReadMemStats(&after)
	if !masking.IsQuarantine(err) || !strings.Contains(err.Error(), "dimensions") {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("refusal took %v", d)
	}
	if a := after.TotalAlloc - before.TotalAlloc; a > 16<<20 {
		t.Errorf("refusal allocated %d bytes", a)
	}
}

// meanDiff is the mean absolute difference of two same-size images, per
// 8-bit channel.
func meanDiff(a, b image.Image) float64 {
	if a.Bounds().Size() != b.Bounds().Size() {
		return 255
	}
	var sum, n float64
	ab, bb := a.Bounds(), b.Bounds()
	for y := 0; y < ab.Dy(); y++ {
		for x := 0; x < ab.Dx(); x++ {
			r1, g1, b1, _ := a.At(ab.Min.X+x, ab.Min.Y+y).RGBA()
			r2, g2, b2, _ := b.At(bb.Min.X+x, bb.Min.Y+y).RGBA()
			for _, d := range []float64{float64(r1>>8) - float64(r2>>8), float64(g1>>8) - float64(g2>>8), float64(b1>>8) - float64(b2>>8)} {
				sum += math.Abs(d)
				n++
			}
		}
	}
	return sum / n
}

// TestOrientationPixels: for every EXIF orientation the output pixels are
// the input pixels transformed as the orientation says (within JPEG q95
// re-encoding noise), and far from the untransformed input.
func TestOrientationPixels(t *testing.T) {
	p, _ := testPerson()
	tf := map[int]func(image.Image) *image.NRGBA{2: imaging.FlipH, 3: imaging.Rotate180, 4: imaging.FlipV,
		5: imaging.Transpose, 6: imaging.Rotate270, 7: imaging.Transverse, 8: imaging.Rotate90}
	for o := 2; o <= 8; o++ {
		t.Run(fmt.Sprint(o), func(t *testing.T) {
			var in bytes.Buffer
			if err := synth.ExifJPEG(&in, p, 64, 48, o); err != nil {
				t.Fatal(err)
			}
			src, err := jpeg.Decode(bytes.NewReader(in.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			out, _, err := deid(t, in.Bytes(), masking.Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := jpeg.Decode(bytes.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			want := tf[o](src)
			if d := meanDiff(got, want); d > 3 {
				t.Errorf("orientation %d: mean difference %.2f to the transformed input", o, d)
			}
			if o != 3 && o != 2 && o != 4 {
				return // size changed: the untransformed input cannot match anyway
			}
			if d := meanDiff(got, src); d < 10 {
				t.Errorf("orientation %d: output still looks like the untransformed input (%.2f)", o, d)
			}
		})
	}
}

// TestSEC_PSE_4_TIFFTagsStripped: ImageDescription, Artist and Copyright
// planted by synth.TIFF do not survive the re-encode (exiftool as checker).
func TestSEC_PSE_4_TIFFTagsStripped(t *testing.T) {
	p, _ := testPerson()
	var in bytes.Buffer
	if err := synth.TIFF(&in, synth.PhotoSpec{Person: p, W: 24, H: 16}); err != nil {
		t.Fatal(err)
	}
	tags := []string{"ImageDescription", "Artist", "Copyright"}
	exifShows(t, in.Bytes(), ".tif", tags...)
	out, res, err := deid(t, in.Bytes(), masking.Options{})
	if err != nil || res.Format != "tiff" {
		t.Fatalf("%v %v", err, res)
	}
	noPlanted(t, out, p)
	exifHides(t, out, ".tif", tags...)
}
