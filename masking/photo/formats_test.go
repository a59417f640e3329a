package photo_test

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/gif"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"hdw/internal/testenv"
	"hdw/masking"
)

// plantMarker is the identifier planted in every metadata block.
const plantMarker = "LEFEVREZELIE0612345678"

// testImage is a small gradient with a bright square.
func testImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 90, 255})
		}
	}
	for y := 2; y < h/3; y++ {
		for x := 2; x < w/3; x++ {
			img.Set(x, y, color.RGBA{250, 250, 250, 255})
		}
	}
	return img
}

// toolOutput runs the command name with args, which writes the file out,
// and returns what it wrote; it fails t (with the command's messages) when
// the command or the reading fails.
func toolOutput(t testing.TB, out, name string, args ...string) []byte {
	t.Helper()
	if msg, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exifPlant writes identifiers into every metadata block exiftool can
// write for the file's format and appends a trailer; it fails when
// exiftool is missing and HDW_DISALLOW_SKIP is set.
func exifPlant(t *testing.T, data []byte, ext string, args ...string) []byte {
	t.Helper()
	testenv.Tool(t, "exiftool", "make deps installs libimage-exiftool-perl")
	f := filepath.Join(t.TempDir(), "in"+ext)
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := append([]string{"-q", "-overwrite_original"}, args...)
	b := toolOutput(t, f, "exiftool", append(cmd, f)...)
	if !strings.Contains(exiftool(t, b, ext), plantMarker) {
		t.Fatalf("exiftool did not plant the marker in %s", ext)
	}
	return b
}

// checkClean: the output holds the marker neither in its bytes nor in any
// block exiftool reads.
func checkClean(t *testing.T, out []byte, ext string) {
	t.Helper()
	if bytes.Contains(out, []byte(plantMarker)) {
		t.Error("marker in the output bytes")
	}
	if d := exiftool(t, out, ext); strings.Contains(d, plantMarker) {
		t.Errorf("exiftool finds the marker:\n%s", d)
	}
}

// deidClean de-identifies in (no options), checks that the output is in
// format (png, jpeg) and clean (checkClean), and decodes it.
func deidClean(t *testing.T, in []byte, format string) image.Image {
	t.Helper()
	out, res, err := deid(t, in, masking.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Format != format {
		t.Fatalf("format %q, want %s", res.Format, format)
	}
	checkClean(t, out, map[string]string{"png": ".png", "jpeg": ".jpg"}[format])
	img, _, err := image.Decode(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestSEC_PSE_4_BMPCleaned: a BMP (with a trailer) is written as PNG,
// pixel for pixel.
func TestSEC_PSE_4_BMPCleaned(t *testing.T) {
	src := testImage(40, 30)
	var in bytes.Buffer
	if err := bmp.Encode(&in, src); err != nil {
		t.Fatal(err)
	}
	in.WriteString(plantMarker)
	img := deidClean(t, in.Bytes(), "png")
	for _, p := range []image.Point{{0, 0}, {39, 29}, {5, 5}, {20, 17}} {
		if r1, g1, b1, _ := img.At(p.X, p.Y).RGBA(); [3]uint32{r1, g1, b1} != rgb(src.At(p.X, p.Y)) {
			t.Errorf("pixel %v changed", p)
		}
	}
}

func rgb(c color.Color) [3]uint32 {
	r, g, b, _ := c.RGBA()
	return [3]uint32{r, g, b}
}

// TestSEC_PSE_4_GIFCleaned: comment, XMP and trailer planted in a single
// frame GIF and an animation are gone; the animation keeps its frames.
func TestSEC_PSE_4_GIFCleaned(t *testing.T) {
	pal := color.Palette{color.Black, color.White, color.RGBA{200, 0, 0, 255}, color.RGBA{0, 0, 200, 255}}
	frame := func(c uint8) *image.Paletted {
		p := image.NewPaletted(image.Rect(0, 0, 24, 16), pal)
		for i := range p.Pix {
			p.Pix[i] = c
		}
		return p
	}
	for _, frames := range []int{1, 3} {
		g := &gif.GIF{}
		for i := 0; i < frames; i++ {
			g.Image = append(g.Image, frame(uint8(1+i%3)))
			g.Delay = append(g.Delay, 10)
		}
		var in bytes.Buffer
		if err := gif.EncodeAll(&in, g); err != nil {
			t.Fatal(err)
		}
		b := exifPlant(t, in.Bytes(), ".gif", "-Comment="+plantMarker, "-XMP-dc:Creator="+plantMarker)
		b = append(b, plantMarker...)
		out, res, err := deid(t, b, masking.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ext := "." + res.Format
		checkClean(t, out, ext)
		if frames == 1 && res.Format != "png" || frames > 1 && res.Format != "gif" {
			t.Errorf("%d frames: format %q", frames, res.Format)
		}
		if frames > 1 {
			g2, err := gif.DecodeAll(bytes.NewReader(out))
			if err != nil || len(g2.Image) != frames {
				t.Fatalf("animation: %v, %d frames", err, len(g2.Image))
			}
			if !bytes.Equal(g2.Image[2].Pix, g.Image[2].Pix) {
				t.Error("frame pixels changed")
			}
		}
	}
}

// TestSEC_PSE_4_JXLQuarantinedNamingFormat: a format without a decoder is
// quarantined with a reason naming it.
func TestSEC_PSE_4_JXLQuarantinedNamingFormat(t *testing.T) {
	_, _, err := deid(t, []byte("\xff\x0a\xfa\x1f\x00\x00\x00\x00"), masking.Options{})
	if !masking.IsQuarantine(err) || !strings.Contains(err.Error(), "JPEG XL") {
		t.Fatalf("err %v, want a quarantine naming JPEG XL", err)
	}
}

// multiTIFF joins single-page TIFFs made by x/image/tiff into one file:
// each page's offsets are moved by where the page lands.
func multiTIFF(t *testing.T, pages ...image.Image) []byte {
	t.Helper()
	out := []byte("II*\x00\x00\x00\x00\x00")
	next := 4
	for _, p := range pages {
		var b bytes.Buffer
		if err := tiff.Encode(&b, p, nil); err != nil {
			t.Fatal(err)
		}
		d := b.Bytes()
		base := uint32(len(out) - 8) // page bytes after its own 8-byte header
		out = append(out, d[8:]...)
		ifd := binary.LittleEndian.Uint32(d[4:8]) + base
		binary.LittleEndian.PutUint32(out[next:], ifd)
		n := int(binary.LittleEndian.Uint16(out[ifd:]))
		for i := 0; i < n; i++ {
			e := out[int(ifd)+2+12*i:]
			tag, typ, count := binary.LittleEndian.Uint16(e), binary.LittleEndian.Uint16(e[2:]), binary.LittleEndian.Uint32(e[4:])
			size := map[uint16]uint32{3: 2, 4: 4, 5: 8}[typ] * count
			if tag == 273 || size > 4 { // strip offsets, or an offset to the values
				if tag == 273 && count > 1 {
					t.Fatal("test pages must be one strip")
				}
				binary.LittleEndian.PutUint32(e[8:], binary.LittleEndian.Uint32(e[8:])+base)
			}
		}
		next = int(ifd) + 2 + 12*n
	}
	return out
}

// TestSEC_PSE_4_TIFFMultiPage: every page of a multi-page TIFF comes out,
// pixel for pixel, and the tags exiftool plants (ImageDescription,
// Artist, XMP) in the pages do not.
func TestSEC_PSE_4_TIFFMultiPage(t *testing.T) {
	a, b := testImage(32, 24), testImage(20, 30)
	in := multiTIFF(t, a, b)
	in = exifPlant(t, in, ".tif", "-IFD0:Artist="+plantMarker, "-IFD0:ImageDescription="+plantMarker, "-XMP-dc:Creator="+plantMarker, "-IFD1:Artist="+plantMarker)
	out, res, err := deid(t, in, masking.Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkClean(t, out, ".tif")
	if d := exiftool(t, out, ".tif"); !strings.Contains(d, "[IFD1]") {
		t.Errorf("second page missing:\n%s", d)
	}
	t.Logf("actions %v", res.Actions)
	pages, err := decodePages(out)
	if err != nil || len(pages) != 2 {
		t.Fatalf("%v, %d pages", err, len(pages))
	}
	for i, want := range []image.Image{a, b} {
		got := pages[i]
		if got.Bounds().Size() != want.Bounds().Size() {
			t.Fatalf("page %d: size %v", i, got.Bounds())
		}
		for _, p := range []image.Point{{0, 0}, {5, 5}, {15, 20}} {
			if rgb(got.At(p.X, p.Y)) != rgb(want.At(p.X, p.Y)) {
				t.Errorf("page %d pixel %v changed", i, p)
			}
		}
	}
}

// decodePages decodes each page of a little-endian TIFF by pointing the
// header at it.
func decodePages(data []byte) ([]image.Image, error) {
	var out []image.Image
	d := append([]byte(nil), data...)
	for off := binary.LittleEndian.Uint32(data[4:8]); off != 0; {
		binary.LittleEndian.PutUint32(d[4:8], off)
		img, err := tiff.Decode(bytes.NewReader(d))
		if err != nil {
			return nil, err
		}
		out = append(out, img)
		n := int(binary.LittleEndian.Uint16(data[off:]))
		off = binary.LittleEndian.Uint32(data[int(off)+2+12*n:])
	}
	return out, nil
}
