package masking_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"

	"hdw/masking"
)

func person() masking.Person {
	return masking.Person{Pseudonym: "p", Identifiers: []masking.Identifier{
		{Kind: "LAST_NAME", Value: "Lefèvre"}, {Kind: "FIRST_NAME", Value: "Zélie"},
		{Kind: "BIRTH_DATE", Value: "1962-04-30"}, {Kind: "CITY", Value: "Saint-Denis"},
		{Kind: "TEL", Value: "06 12 34 56 78"}, {Kind: "ADDRESS", Value: "12 rue des Lilas"},
	}}
}

// TestSEC_PSE_4_ScrubText checks identifiers and patterns become generic tokens.
func TestSEC_PSE_4_ScrubText(t *testing.T) {
	cases := []struct{ in, want string }{
		{"Mme LEFEVRE Zelie vue ce jour", "Mme NAME_OF_BIRTH FIRST_NAME vue ce jour"},
		{"lefèvre-zélie", "NAME_OF_BIRTH-FIRST_NAME"},
		{"habite 12 rue des lilas à saint denis", "habite ADDRESS à CITY"},
		{"née le 30/04/1962", "née le DATE"},
		{"tél 06.12.34.56.78 ou +33 6 12 34 56 78", "tél TEL ou TEL"},
		{"mail zelie@example.org", "mail EMAIL"},
		{"nir 2 62 04 2A 123 456 78", "nir NIR"},
		{"CP 75011 Paris", "CP CODE_POSTAL Paris"},
		{"Lefèvreux is another name", "Lefèvreux is another name"},
		{"ZÉLIE LEFÈVRE", "FIRST_NAME NAME_OF_BIRTH"},
		{"le fèvre", "le fèvre"},
		{"Lefèvre, Zélie.", "NAME_OF_BIRTH, FIRST_NAME."},
		{"12, Rue des LILAS", "ADDRESS"},
		{"nir 262042A12345678", "nir NIR"},
		{"nir 1 85 12 2B 045 067", "nir NIR"},
		{"nir 185127512345678", "nir NIR"},
		{"appel 0033 6 12 34 56 78", "appel TEL"},
		{"appel +44 20 7946 0958", "appel TEL"},
		{"fixe 01-23-45-67-89", "fixe TEL"},
		{"vue le 1962-04-30 et le 3.5.21", "vue le BIRTH_DATE et le DATE"},
		{"né le 1er avril 1962, revu le 30 Août 2020", "né le DATE, revu le DATE"},
		{"Ajaccio 20000, Fort-de-France 97200", "Ajaccio CODE_POSTAL, Fort-de-France CODE_POSTAL"},
		{"ZELIE.LEFEVRE@HOPITAL.FR", "EMAIL"},
		{"", ""},
		{"aucun identifiant ici", "aucun identifiant ici"},
	}
	for _, c := range cases {
		got := masking.ScrubText(c.in, person())
		if got != c.want {
			t.Errorf("ScrubText(%q)\n got %q\nwant %q", c.in, got, c.want)
		}
		if again := masking.ScrubText(c.in, person()); again != got {
			t.Errorf("ScrubText(%q) is not deterministic", c.in)
		}
	}
}

// TestResidualScanAcrossWrites: a value split across two writes is found.
func TestResidualScanAcrossWrites(t *testing.T) {
	s := masking.NewScanner(person())
	s.Write([]byte("xxxx LEF"))
	s.Write([]byte("EVRE yyy"))
	if kind, hit := s.Hit(); !hit || kind != "LAST_NAME" {
		t.Fatalf("split identifier not found: %q %v", kind, hit)
	}
	s2 := masking.NewScanner(person())
	s2.Write([]byte("date 19620430"))
	if _, hit := s2.Hit(); !hit {
		t.Fatal("compact birth date not found")
	}
	s3 := masking.NewScanner(person())
	s3.Write([]byte("nothing here"))
	if _, hit := s3.Hit(); hit {
		t.Fatal("false positive")
	}
}

type echo struct{}

func (echo) Sniff(h []byte) bool { return bytes.HasPrefix(h, []byte("ECHO")) }
func (echo) Deidentify(ctx context.Context, dst io.Writer, src io.Reader, size int64, p masking.Person, o masking.Options) (masking.Result, error) {
	_, err := io.Copy(dst, src)
	return masking.Result{Format: "echo"}, err
}

// TestResidualScanQuarantines: a handler that lets an identifier through is caught.
func TestResidualScanQuarantines(t *testing.T) {
	d := masking.New(echo{})
	var out bytes.Buffer
	in := "ECHO report for Zélie"
	_, err := d.Deidentify(context.Background(), &out, strings.NewReader(in), int64(len(in)), person(), masking.Options{})
	if !masking.IsQuarantine(err) || !strings.Contains(err.Error(), "FIRST_NAME") || strings.Contains(err.Error(), "Zélie") {
		t.Fatalf("got %v", err)
	}
	_, err = d.Deidentify(context.Background(), &out, strings.NewReader("JUNK"), 4, person(), masking.Options{})
	if !masking.IsQuarantine(err) {
		t.Fatalf("unknown type: %v", err)
	}
}

func FuzzScrubText(f *testing.F) {
	f.Add("Lefèvre Zélie 06 12 34 56 78")
	f.Add("é\u0301\u0000")
	f.Fuzz(func(t *testing.T, s string) {
		a := masking.ScrubText(s, person())
		if a != masking.ScrubText(s, person()) {
			t.Fatal("not deterministic")
		}
	})
}

// wrote writes parts to s one after the other and reports whether s has
// found an identifier in all it was given.
func wrote(s *masking.Scanner, parts ...string) bool {
	for _, p := range parts {
		s.Write([]byte(p))
	}
	_, hit := s.Hit()
	return hit
}

// TestResidualScanIgnoresShortNumbers: a postal code inside a keyed UID is
// not a hit; a compact birth date still is.
func TestResidualScanIgnoresShortNumbers(t *testing.T) {
	p := masking.Person{Identifiers: []masking.Identifier{{Kind: "CODE_POSTAL", Value: "33000"}, {Kind: "BIRTH_DATE", Value: "1962-04-30"}}}
	s := masking.NewScanner(p)
	if wrote(s, "2.25.123433000998877") {
		t.Fatal("postal code digits inside a UID must not quarantine")
	}
	if !wrote(s, " 19620430 ") {
		t.Fatal("compact birth date missed")
	}
}

// TestResidualScanIgnoresPseudonym: letters of the pseudonym that spell a
// name by chance are not a hit (seen on a 1,000-file run).
func TestResidualScanIgnoresPseudonym(t *testing.T) {
	p := masking.Person{Pseudonym: "abclyonxyz234567abcdefghijklmnop", Identifiers: []masking.Identifier{{Kind: "BIRTH_PLACE", Value: "Lyon"}}}
	s := masking.NewScanner(p)
	if wrote(s, "PatientID abclyonxyz2345", "67abcdefghijklmnop end") {
		t.Fatal("pseudonym letters counted as a residual identifier")
	}
	if !wrote(s, " born in lyon") {
		t.Fatal("real hit missed")
	}
}

// TestResidualShortValuesNeedDelimiters: a 4-letter city inside binary data
// is noise; between text delimiters it is a hit.
func TestResidualShortValuesNeedDelimiters(t *testing.T) {
	p := masking.Person{Identifiers: []masking.Identifier{{Kind: "CITY", Value: "Lyon"}}}
	s := masking.NewScanner(p)
	if wrote(s, "\x8fLyon\xe3\x91") {
		t.Fatal("short value inside binary data counted")
	}
	for _, text := range []string{"HOPITAL^LYON^", "\x04\x00Lyon", "born in lyon"} {
		if !wrote(masking.NewScanner(p), text) {
			t.Errorf("%q: short value between delimiters missed", text)
		}
	}
}

// TestResidualScanForms: every normalized form of an identifier is found,
// whatever the split between two writes (SEC-PSE-4, last line of defence).
func TestResidualScanForms(t *testing.T) {
	cases := []struct{ name, data, kind string }{
		{"raw", "x Lefèvre x", "LAST_NAME"},
		{"upper", "x LEFÈVRE x", "LAST_NAME"},
		{"lower", "x lefèvre x", "LAST_NAME"},
		{"unaccented", "x Lefevre x", "LAST_NAME"},
		{"dicom PN", "LEFEVRE^ZELIE", "LAST_NAME"},
		{"first name PN", "X^ZELIE^^", "FIRST_NAME"},
		{"DA", "\x00\x0019620430\x00", "BIRTH_DATE"},
		{"french date", "30/04/1962", "BIRTH_DATE"},
		{"exif date", "1962:04:30 10:00:00", "BIRTH_DATE"},
		{"phone compact", "tel:0612345678;", "TEL"},
		{"phone dotted", "06.12.34.56.78", "TEL"},
		{"address upper", "12 RUE DES LILAS", "ADDRESS"},
		{"none", "nothing identifying, 1962 and 04", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for cut := 0; cut <= len(c.data); cut++ {
				s := masking.NewScanner(person())
				s.Write([]byte(c.data[:cut]))
				s.Write([]byte(c.data[cut:]))
				kind, hit := s.Hit()
				if hit != (c.kind != "") || kind != c.kind {
					t.Fatalf("split at %d: got %q %v, want %q", cut, kind, hit, c.kind)
				}
			}
			if kind, _ := masking.ScanText(c.data, person()); kind != c.kind {
				t.Errorf("ScanText: got %q, want %q", kind, c.kind)
			}
		})
	}
}

// TestScrubTextPersonCache: the scrubber's per-person cache follows the
// identifiers' values, not the slice that holds them.
func TestScrubTextPersonCache(t *testing.T) {
	p := person()
	if got := masking.ScrubText("Lefèvre Martin", p); got != "NAME_OF_BIRTH Martin" {
		t.Fatalf("got %q", got)
	}
	p.Identifiers[0].Value = "Martin" // the same backing array, another person
	if got := masking.ScrubText("Lefèvre Martin", p); got != "Lefèvre NAME_OF_BIRTH" {
		t.Fatalf("stale cache: got %q", got)
	}
	for i := 0; i < 200; i++ { // more persons than the cache holds
		q := masking.Person{Identifiers: []masking.Identifier{{Kind: "LAST_NAME", Value: fmt.Sprintf("Nom%03d", i)}}}
		if got := masking.ScrubText(fmt.Sprintf("x Nom%03d", i), q); got != "x NAME_OF_BIRTH" {
			t.Fatalf("person %d: got %q", i, got)
		}
	}
}
