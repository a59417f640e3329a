package synth

import (
	"bytes"
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
