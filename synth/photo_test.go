package synth

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"image/jpeg"
	"testing"

	"golang.org/x/image/tiff"
)

// TestJPEGCarriesPlantedValues: the generator is deterministic, decodable,
// and plants the identifiers in XMP, extended XMP, IPTC, MPF and APP11.
func TestJPEGCarriesPlantedValues(t *testing.T) {
	p := Person{LastName: "Lefèvre", FirstName: "Zélie", Address: "12 rue des Lilas", Phone: "06 12 34 56 78",
		City: "Lyon", BirthDate: "1962-04-30", NIR: "2 62 04 2A 123 456 78"}
	var a, b bytes.Buffer
	if err := JPEG(&a, PhotoSpec{Person: p, W: 32, H: 24, Orientation: 6}); err != nil {
		t.Fatal(err)
	}
	JPEG(&b, PhotoSpec{Person: p, W: 32, H: 24, Orientation: 6})
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("not deterministic")
	}
	if _, err := jpeg.Decode(bytes.NewReader(a.Bytes())); err != nil {
		t.Fatal(err)
	}
	for _, sig := range []string{"http://ns.adobe.com/xap/1.0/", "http://ns.adobe.com/xmp/extension/", "Photoshop 3.0", "MPF\x00", "VENDOR", p.LastName, p.City} {
		if !bytes.Contains(a.Bytes(), []byte(sig)) {
			t.Errorf("missing %q", sig)
		}
	}
}

// TestTIFFCarriesPlantedTags: the TIFF decodes and its tags carry the name.
func TestTIFFCarriesPlantedTags(t *testing.T) {
	p := Person{LastName: "Lefèvre", FirstName: "Zélie", Address: "12 rue des Lilas", Phone: "06 12 34 56 78", BirthDate: "1962-04-30"}
	var b bytes.Buffer
	if err := TIFF(&b, PhotoSpec{Person: p, W: 7, H: 5}); err != nil {
		t.Fatal(err)
	}
	img, err := tiff.Decode(bytes.NewReader(b.Bytes()))
	if err != nil || img.Bounds().Dx() != 7 || img.Bounds().Dy() != 5 {
		t.Fatalf("%v %v", err, img)
	}
	if !bytes.Contains(b.Bytes(), []byte(p.LastName)) {
		t.Fatal("name not planted")
	}
}

func photoPerson() Person {
	return Person{LastName: "Lefèvre", FirstName: "Zélie", Address: "12 rue des Lilas", Phone: "06 12 34 56 78",
		City: "Lyon", BirthDate: "1962-04-30", NIR: "2 62 04 2A 123 456 78", PPI: "PPI0001234"}
}

// TestPhotoZeroValueUnchanged pins the bytes of the photo generators for a
// zero Camera field: golden tests and demo uploads depend on them. (A new
// image/jpeg or image/png encoder in a Go release would change them too:
// check the layout goldens of masking/photo, then update these sums.)
func TestPhotoZeroValueUnchanged(t *testing.T) {
	p := photoPerson()
	for _, tc := range []struct {
		name, sum string
		gen       func(*bytes.Buffer) error
	}{
		{"JPEG", "b261dd86733b016cc1a7c36d875f23022d517bc419b5cdf6a2c7defee6f09186", func(b *bytes.Buffer) error { return JPEG(b, PhotoSpec{Person: p, W: 64, H: 48}) }},
		{"JPEG-orientation-6", "964778bacea164fa5c23c2c486f94185d769c6233dfebc80fadffac08c86739f", func(b *bytes.Buffer) error {
			return JPEG(b, PhotoSpec{Person: p, W: 33, H: 17, Orientation: 6})
		}},
		{"ExifJPEG", "e2f0b506bf4505346564cff13886c05e99e46fdea0d22546267d9842066b055f", func(b *bytes.Buffer) error { return ExifJPEG(b, p, 40, 30, 3) }},
		{"TextPNG", "1754a6115354d1105d91914fd96fd76ae1c39feea0a7fb9172696e2ca9341e11", func(b *bytes.Buffer) error { return TextPNG(b, p, 40, 30) }},
		{"TIFF", "122b1aeafee4ad55f31027c56a943b752f91e6d094a4da1c8acb56b517bc91f5", func(b *bytes.Buffer) error { return TIFF(b, PhotoSpec{Person: p, W: 7, H: 5}) }},
		{"demo", "a0122bb5d9b68412b7210e76fdc049e26591303f0d34c72545e40e57494a794e", func(b *bytes.Buffer) error { return demoJPEG(b, demoPhotoSpec(p, 320, 240)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.gen(&b); err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprintf("%x", sha256.Sum256(b.Bytes())); got != tc.sum {
				t.Errorf("sha256 %s, want %s", got, tc.sum)
			}
		})
	}
}

// TestCameraJPEG: a Camera photo is about 0.3-0.5 byte per pixel, decodes
// to its size, and carries a maker note and an IFD1 thumbnail (a second
// JPEG inside APP1) on top of the planted metadata.
func TestCameraJPEG(t *testing.T) {
	p := photoPerson()
	const w, h = 1632, 1224 // 2 MP
	var b bytes.Buffer
	if err := JPEG(&b, PhotoSpec{Person: p, W: w, H: h, Camera: true, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	if bpp := float64(b.Len()) / (w * h); bpp < 0.3 || bpp > 0.5 {
		t.Errorf("%.3f byte per pixel, want 0.3-0.5", bpp)
	}
	img, err := jpeg.Decode(bytes.NewReader(b.Bytes()))
	if err != nil || img.Bounds().Dx() != w || img.Bounds().Dy() != h {
		t.Fatalf("decode: %v", err)
	}
	d := b.Bytes()
	if n := bytes.Count(d, []byte{0xFF, 0xD8, 0xFF}); n < 2 {
		t.Errorf("no thumbnail: %d SOI", n)
	}
	for _, s := range []string{"SynthCam\x00", "OwnerName\x00" + p.FirstName + " " + p.LastName, "http://ns.adobe.com/xap/1.0/", "Photoshop 3.0", "TRAILER"} {
		if !bytes.Contains(d, []byte(s)) {
			t.Errorf("missing %q", s)
		}
	}
	var other bytes.Buffer
	JPEG(&other, PhotoSpec{Person: p, W: w, H: h, Camera: true, Seed: 8})
	if bytes.Equal(d, other.Bytes()) {
		t.Error("Seed does not vary the picture")
	}
}

// TestJPEGsSameAsJPEG: the batch generator writes, for each person, the
// bytes JPEG writes for that person.
func TestJPEGsSameAsJPEG(t *testing.T) {
	people := []Person{photoPerson(), {LastName: "Moreau", FirstName: "Théo", PPI: "PPI0000042", BirthDate: "1980-02-03"}}
	for _, camera := range []bool{false, true} {
		s := PhotoSpec{W: 96, H: 64, Orientation: 3, Camera: camera, Seed: 1}
		err := JPEGs(s, people, func(i int, got []byte) error {
			one := s
			one.Person = people[i]
			var want bytes.Buffer
			if err := JPEG(&want, one); err != nil {
				return err
			}
			if !bytes.Equal(got, want.Bytes()) {
				t.Errorf("camera=%v person %d: JPEGs differs from JPEG", camera, i)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}
