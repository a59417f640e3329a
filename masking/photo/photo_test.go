package photo_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/image/tiff"

	"hdw/internal/testenv"
	"hdw/masking"
	"hdw/masking/photo"
	"hdw/masking/scantest"
	"hdw/synth"
)

var h = photo.New(photo.Config{})

func testPerson() (synth.Person, masking.Person) {
	p := synth.Person{NIR: "2 62 04 2A 123 456 78", PPI: "PPI0001234", LastName: "Lefèvre", FirstName: "Zélie",
		BirthDate: "1962-04-30", Address: "12 rue des Lilas", Phone: "06 12 34 56 78", City: "Lyon"}
	mp := masking.Person{Pseudonym: "pseudo"}
	for k, v := range map[string]string{"LAST_NAME": p.LastName, "FIRST_NAME": p.FirstName, "BIRTH_DATE": p.BirthDate,
		"ADDRESS": p.Address, "TEL": p.Phone, "PPI": p.PPI} {
		mp.Identifiers = append(mp.Identifiers, masking.Identifier{Kind: k, Value: v})
	}
	return p, mp
}

func planted(p synth.Person) []string {
	return []string{p.LastName, p.FirstName, "Lefevre", "LEFÈVRE", p.Phone, p.Address, "1962:04:30", "0001234", "TRAILER", "SynthCam"}
}

// identifiers are the planted values that are the person's identifiers: the
// fuzz tests require that none reaches an accepted output, wherever the fuzzer
// moves them (dropped segment or residual-scan quarantine). Camera strings
// are not identifiers and may legitimately survive inside pixel data.
func identifiers(p synth.Person) []string {
	return []string{p.LastName, p.FirstName, "Lefevre", "LEFÈVRE", p.Phone, p.Address}
}

// exifShows fails t unless exiftool's dump of data (a file of type ext)
// shows every group: the fixture plants what the test removes.
func exifShows(t *testing.T, data []byte, ext string, groups ...string) {
	t.Helper()
	d := exiftool(t, data, ext)
	for _, g := range groups {
		if !strings.Contains(d, g) {
			t.Fatalf("fixture lacks %s:\n%s", g, d)
		}
	}
}

// exifHides: exiftool's dump of out (a file of type ext) shows none of
// groups.
func exifHides(t *testing.T, out []byte, ext string, groups ...string) {
	t.Helper()
	d := exiftool(t, out, ext)
	for _, g := range groups {
		if strings.Contains(d, g) {
			t.Errorf("exiftool still shows %s:\n%s", g, d)
		}
	}
}

// noPlanted: out holds none of the values planted for p.
func noPlanted(t *testing.T, out []byte, p synth.Person) {
	t.Helper()
	for _, s := range planted(p) {
		if bytes.Contains(out, []byte(s)) {
			t.Errorf("output contains planted %q", s)
		}
	}
}

func deid(t *testing.T, in []byte, o masking.Options) ([]byte, masking.Result, error) {
	t.Helper()
	_, mp := testPerson()
	d := masking.New(h)
	var out bytes.Buffer
	res, err := d.Deidentify(context.Background(), &out, bytes.NewReader(in), int64(len(in)), mp, o)
	return out.Bytes(), res, err
}

// exiftool returns exiftool's dump of data (a file of type ext): every
// tag, unknown ones too, with its group.
func exiftool(t *testing.T, data []byte, ext string) string {
	t.Helper()
	testenv.Tool(t, "exiftool", "make deps installs libimage-exiftool-perl")
	f := filepath.Join(t.TempDir(), "x"+ext)
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("exiftool", "-a", "-G1", "-s", "-u", f).CombinedOutput()
	if err != nil {
		t.Fatalf("exiftool: %v\n%s", err, out)
	}
	return string(out)
}

// TestSEC_PSE_4_JPEGMetadataStripped checks EXIF, GPS, serial, comment and
// trailer are gone (our own scan and exiftool as independent checker),
// and that the lossless path leaves the entropy-coded data intact.
func TestSEC_PSE_4_JPEGMetadataStripped(t *testing.T) {
	p, _ := testPerson()
	var in bytes.Buffer
	if err := synth.JPEG(&in, synth.PhotoSpec{Person: p, W: 64, H: 48}); err != nil {
		t.Fatal(err)
	}
	exifShows(t, in.Bytes(), ".jpg", "[GPS]", "Artist", "[XMP-dc]", "[XMP-photoshop]", "[IPTC]", "[MPF0]", "Comment")
	out, res, err := deid(t, in.Bytes(), masking.Options{})
	if err != nil {
		t.Fatal(err)
	}
	noPlanted(t, out, p)
	exifHides(t, out, ".jpg", "[IFD0]", "[IFD1]", "[ExifIFD]", "[GPS]", "[XMP", "[IPTC]", "[Photoshop]", "[MPF", "[MakerNotes", "Comment", "Artist", "SerialNumber", "Trailer", p.City)
	if !strings.Contains(strings.Join(res.Actions, " "), "jpeg:lossless") {
		t.Errorf("expected the lossless path: %v", res.Actions)
	}
	a, _ := jpeg.Decode(bytes.NewReader(in.Bytes()))
	b, err := jpeg.Decode(bytes.NewReader(out))
	if err != nil || a.Bounds() != b.Bounds() || !samePixels(a, b) {
		t.Fatal("lossless output must decode to the same pixels")
	}
}

func samePixels(a, b image.Image) bool {
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 {
				return false
			}
		}
	}
	return true
}

func TestOrientationBaked(t *testing.T) {
	p, _ := testPerson()
	var in bytes.Buffer
	synth.ExifJPEG(&in, p, 64, 48, 6)
	out, res, err := deid(t, in.Bytes(), masking.Options{})
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(out))
	if err != nil || img.Bounds().Dx() != 48 || img.Bounds().Dy() != 64 {
		t.Fatalf("orientation 6 must rotate 64x48 to 48x64: %v %v %v", img.Bounds(), err, res.Actions)
	}
}

func TestSEC_PSE_4_PNGTextChunksStripped(t *testing.T) {
	p, _ := testPerson()
	var in bytes.Buffer
	if err := synth.TextPNG(&in, p, 40, 30); err != nil {
		t.Fatal(err)
	}
	out, _, err := deid(t, in.Bytes(), masking.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"tEXt", "zTXt", "iTXt", "eXIf", "tIME", p.LastName} {
		if bytes.Contains(out, []byte(c)) {
			t.Errorf("PNG output still has %s", c)
		}
	}
	exifHides(t, out, ".png", "Author", "Comment", "Description", "[IFD0]", "GPS")
}

// TestDecompressionBomb: a PNG header claiming 100000 x 100000 is refused
// before any decoding.
func TestDecompressionBomb(t *testing.T) {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 100000)
	binary.BigEndian.PutUint32(ihdr[4:], 100000)
	ihdr[8], ihdr[9] = 8, 2
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	binary.Write(&b, binary.BigEndian, uint32(13))
	b.WriteString("IHDR")
	b.Write(ihdr)
	binary.Write(&b, binary.BigEndian, crc32.Update(crc32.ChecksumIEEE([]byte("IHDR")), crc32.IEEETable, ihdr))
	_, _, err := deid(t, b.Bytes(), masking.Options{})
	if !masking.IsQuarantine(err) || !strings.Contains(err.Error(), "dimensions") {
		t.Fatalf("got %v", err)
	}
}

// TestFacesMasked uses pigo's MIT sample portrait (testdata/PROVENANCE.md).
func TestFacesMasked(t *testing.T) {
	data, err := os.ReadFile("../../testdata/photo/pigo-sample-face.jpg")
	if err != nil {
		t.Fatal(err)
	}
	out, res, err := deid(t, data, masking.Options{Faces: true})
	if err != nil {
		t.Fatal(err)
	}
	img, _ := jpeg.Decode(bytes.NewReader(out))
	// The centre of the face (nose) must be filled.
	r, g, b, _ := img.At(160, 220).RGBA()
	if r > 0x1000 || g > 0x1000 || b > 0x1000 || !strings.Contains(strings.Join(res.Actions, " "), "masked-regions:1") {
		t.Fatalf("face not masked: %v", res.Actions)
	}
	if !strings.Contains(strings.Join(res.Actions, " "), "masked-eyes:2") {
		t.Fatalf("eyes not located: %v", res.Actions)
	}
	// puploc perturbs randomly; eye boxes are clipped to the face, so the
	// output must not vary between runs.
	again, _, err := deid(t, data, masking.Options{Faces: true})
	if err != nil || !bytes.Equal(out, again) {
		t.Fatal("face masking is not deterministic")
	}
	findFaces(t, data)
}

// findFaces checks the exported face finder (issue 20 item 4: masking/dcm
// uses it for DICOM photographs) on the portrait data: the face is found,
// clipped to the image, and nothing is found in a blank image.
func findFaces(t *testing.T, data []byte) {
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	h := photo.New(photo.Config{})
	faces := h.FindFaces(img)
	nose := image.Pt(160, 220)
	if !slices.ContainsFunc(faces, nose.In) {
		t.Errorf("faces %v miss the nose at %v", faces, nose)
	}
	for _, r := range faces {
		if !r.In(img.Bounds()) {
			t.Errorf("face %v not clipped to %v", r, img.Bounds())
		}
	}
	if got := h.FindFaces(image.NewGray(image.Rect(0, 0, 320, 400))); len(got) != 0 {
		t.Errorf("faces %v in a blank image", got)
	}
}

// withICC inserts an APP2 ICC_PROFILE segment right after SOI.
func withICC(jpg, profile []byte) []byte {
	payload := append([]byte("ICC_PROFILE\x00\x01\x01"), profile...)
	seg := []byte{0xFF, 0xE2, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	out = append(out, payload...)
	return append(out, jpg[2:]...)
}

// TestSEC_PSE_4_ICCKept: the ICC profile survives both the lossless path and
// the re-encode path (orientation bake).
func TestSEC_PSE_4_ICCKept(t *testing.T) {
	p, _ := testPerson()
	profile := bytes.Repeat([]byte("synthetic-icc-profile;"), 20)
	for _, tc := range []struct {
		name        string
		orientation int
		action      string
	}{{"lossless", 1, "jpeg:lossless"}, {"reencoded", 6, "orientation:6-baked"}} {
		t.Run(tc.name, func(t *testing.T) {
			var in bytes.Buffer
			if err := synth.ExifJPEG(&in, p, 32, 24, tc.orientation); err != nil {
				t.Fatal(err)
			}
			out, res, err := deid(t, withICC(in.Bytes(), profile), masking.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.Join(res.Actions, " "), tc.action) {
				t.Fatalf("actions %v, want %s", res.Actions, tc.action)
			}
			if !bytes.Contains(out, append([]byte("ICC_PROFILE\x00\x01\x01"), profile...)) {
				t.Fatal("ICC profile lost")
			}
		})
	}
}

func TestBoxesMasked(t *testing.T) {
	p, _ := testPerson()
	var in bytes.Buffer
	synth.ExifJPEG(&in, p, 64, 48, 1)
	out, _, err := deid(t, in.Bytes(), masking.Options{Boxes: []masking.Box{{X0: 0, Y0: 0, X1: 20, Y1: 20}}})
	if err != nil {
		t.Fatal(err)
	}
	img, _ := jpeg.Decode(bytes.NewReader(out))
	r, g, b, _ := img.At(10, 10).RGBA()
	if r > 0x1000 || g > 0x1000 || b > 0x1000 {
		t.Fatal("box not filled")
	}
}

func TestHEICQuarantined(t *testing.T) {
	in := []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic")
	_, _, err := deid(t, in, masking.Options{})
	if !masking.IsQuarantine(err) {
		t.Fatal(err)
	}
}

// fuzzNoPlanted checks that the identifiers planted in the seeds never
// reach an accepted output, wherever the fuzzer moves them: their segment
// or chunk is dropped, or the residual scan quarantines the file; only the
// compressed image data the handler copied (reported as not scanned, see
// TestSEC_PSE_4_PhotoScanSkipsOnlyImageData) may hold such bytes, as
// pixels.
func fuzzNoPlanted(f *testing.F, seeds ...[]byte) {
	p, mp := testPerson()
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rec := &scantest.Recorder{}
		_, err := h.Deidentify(t.Context(), rec, bytes.NewReader(data), int64(len(data)), mp, masking.Options{})
		if err != nil && !masking.IsQuarantine(err) {
			t.Fatalf("error is not a quarantine: %v", err)
		}
		if err != nil {
			return
		}
		out, ranges := rec.Bytes(), rec.Ranges()
		if hit, err := scantest.Hit(t.Context(), out, ranges, mp); err != nil || hit {
			return // quarantined by the residual scan
		}
		for _, r := range ranges {
			clear(out[r[0]:r[1]])
		}
		for _, v := range identifiers(p) {
			if bytes.Contains(out, []byte(v)) {
				t.Fatalf("planted value of length %d reached the output", len(v))
			}
		}
	})
}

func FuzzJPEG(f *testing.F) {
	p, _ := testPerson()
	var in, full bytes.Buffer
	synth.ExifJPEG(&in, p, 16, 16, 1)
	synth.JPEG(&full, synth.PhotoSpec{Person: p, W: 16, H: 16, Orientation: 3})
	fuzzNoPlanted(f, in.Bytes(), full.Bytes(), []byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x02})
}

func FuzzPNG(f *testing.F) {
	p, _ := testPerson()
	var in bytes.Buffer
	synth.TextPNG(&in, p, 8, 8)
	fuzzNoPlanted(f, in.Bytes())
}

func BenchmarkJPEGLossless2MP(b *testing.B) { benchLossless(b, 1920, 1080) }

func BenchmarkJPEGLossless12MP(b *testing.B) { benchLossless(b, 4000, 3000) }

// benchLossless reports MB/s (SetBytes) and photos/s for the segment-copy
// path on the flat synthetic JPEG (ExifJPEG), residual scan included.
func benchLossless(b *testing.B, w, hgt int) {
	p, _ := testPerson()
	var in bytes.Buffer
	if err := synth.ExifJPEG(&in, p, w, hgt, 1); err != nil {
		b.Fatal(err)
	}
	_, mp := testPerson()
	benchDeidentify(b, in.Bytes(), mp)
}

// BenchmarkJPEGCamera* run the lossless path on camera-like photos
// (synth.PhotoSpec.Camera: about 0.37 byte per pixel, EXIF with maker note
// and thumbnail, XMP, IPTC), through masking.Deidentifier as the ingest
// does: Scan gives the residual scan the person's identifiers, NoScan
// gives it none (the metadata stripping alone).
func BenchmarkJPEGCamera2MPScan(b *testing.B)    { benchCamera(b, 1632, 1224, true) }
func BenchmarkJPEGCamera2MPNoScan(b *testing.B)  { benchCamera(b, 1632, 1224, false) }
func BenchmarkJPEGCamera12MPScan(b *testing.B)   { benchCamera(b, 4000, 3000, true) }
func BenchmarkJPEGCamera12MPNoScan(b *testing.B) { benchCamera(b, 4000, 3000, false) }
func BenchmarkJPEGCamera24MPNoScan(b *testing.B) { benchCamera(b, 6000, 4000, false) }

// BenchmarkJPEGCamera2MPFaces runs the photo as the ingest does by default
// (masking.Options.Faces, the residual scan on): decode, face and eye
// detection, barcodes, and (no face in the synthetic photo) the lossless
// copy. cpu-ms/op is the process's CPU time per photo (compare it, not
// ns/op, on a loaded machine).
func BenchmarkJPEGCamera2MPFaces(b *testing.B) {
	p, mp := testPerson()
	var in bytes.Buffer
	if err := synth.JPEG(&in, synth.PhotoSpec{Person: p, W: 1632, H: 1224, Camera: true}); err != nil {
		b.Fatal(err)
	}
	benchDeidentifyOpts(b, in.Bytes(), mp, masking.Options{Faces: true})
}

// BenchmarkJPEGFlat2MPFaces runs the photo of make bench-s3's photo and
// mixed corpora (synth.JPEG without Camera: the flat gradient, 1600x1200,
// EXIF/XMP/IPTC) as the ingest does (faces on): cpu-ms/op is that
// corpus's cost per photo.
func BenchmarkJPEGFlat2MPFaces(b *testing.B) {
	p, mp := testPerson()
	var in bytes.Buffer
	if err := synth.JPEG(&in, synth.PhotoSpec{Person: p, W: 1600, H: 1200}); err != nil {
		b.Fatal(err)
	}
	benchDeidentifyOpts(b, in.Bytes(), mp, masking.Options{Faces: true})
}

// BenchmarkJPEGRotated2MPFaces: a 2 MP photo with EXIF orientation 6 (a
// phone held upright), faces on: the orientation is baked (an NRGBA image)
// before the visible-content passes, then re-encoded.
func BenchmarkJPEGRotated2MPFaces(b *testing.B) {
	p, mp := testPerson()
	var in bytes.Buffer
	if err := synth.ExifJPEG(&in, p, 1632, 1224, 6); err != nil {
		b.Fatal(err)
	}
	benchDeidentifyOpts(b, in.Bytes(), mp, masking.Options{Faces: true})
}

func benchCamera(b *testing.B, w, hgt int, scan bool) {
	p, mp := testPerson()
	var in bytes.Buffer
	if err := synth.JPEG(&in, synth.PhotoSpec{Person: p, W: w, H: hgt, Camera: true}); err != nil {
		b.Fatal(err)
	}
	if !scan {
		mp = masking.Person{Pseudonym: mp.Pseudonym}
	}
	benchDeidentify(b, in.Bytes(), mp)
}

// BenchmarkPNG2MP: the PNG chunk rewriter (text chunks dropped, CRCs checked).
func BenchmarkPNG2MP(b *testing.B) {
	p, mp := testPerson()
	var in bytes.Buffer
	if err := synth.TextPNG(&in, p, 1632, 1224); err != nil {
		b.Fatal(err)
	}
	benchDeidentify(b, in.Bytes(), mp)
}

// benchDeidentify de-identifies data into a reused buffer (output
// allocations are not counted) and reports MB/s and photos/s.
func benchDeidentify(b *testing.B, data []byte, mp masking.Person) {
	b.Helper()
	benchDeidentifyOpts(b, data, mp, masking.Options{})
}

func benchDeidentifyOpts(b *testing.B, data []byte, mp masking.Person, o masking.Options) {
	b.Helper()
	d := masking.New(h)
	var out bytes.Buffer
	out.Grow(len(data))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu := photo.CPUTime()
	for b.Loop() {
		out.Reset()
		if _, err := d.Deidentify(context.Background(), &out, bytes.NewReader(data), int64(len(data)), mp, o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "photos/s")
	b.ReportMetric(float64(photo.CPUTime()-cpu)/1e6/float64(b.N), "cpu-ms/op")
}

// TestTIFFReencoded: TIFF tags (ImageDescription, Artist) do not survive.
func TestTIFFReencoded(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	var b bytes.Buffer
	if err := tiff.Encode(&b, img, nil); err != nil {
		t.Fatal(err)
	}
	// Append an Artist-like string after the image data: it must not be copied.
	in := append(b.Bytes(), []byte("Artist Lefèvre Zélie")...)
	out, res, err := deid(t, in, masking.Options{})
	if err != nil || res.Format != "tiff" || bytes.Contains(out, []byte("Lef")) {
		t.Fatalf("%v %v", err, res)
	}
	if _, err := tiff.Decode(bytes.NewReader(out)); err != nil {
		t.Fatal(err)
	}
}
