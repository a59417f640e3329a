package masking

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
)

// diffPerson has identifiers of every kind with forms, short values that
// need delimiters, values sharing their first bytes, and a pseudonym that
// spells one of them.
func diffPerson() Person {
	return Person{Pseudonym: "abclyonxyz234567", Identifiers: []Identifier{
		{Kind: "LAST_NAME", Value: "Lefèvre"}, {Kind: "BIRTH_NAME", Value: "Lefebvre"},
		{Kind: "FIRST_NAME", Value: "Zélie"}, {Kind: "CITY", Value: "Lyon"},
		{Kind: "BIRTH_DATE", Value: "1962-04-30"}, {Kind: "TEL", Value: "06 12 34 56 78"},
		{Kind: "NIR", Value: "2 62 04 2A 123 456 78"}, {Kind: "ADDRESS", Value: "12 rue des Lilas"},
		{Kind: "CODE_POSTAL", Value: "33000"}, {Kind: "PPI", Value: "PPI0012345"},
	}}
}

// sameHit feeds data to both scanners in the given pieces and compares.
func sameHit(t testing.TB, p Person, data []byte, cuts []int) {
	t.Helper()
	a, b := NewScanner(p), newRefScanner(p)
	prev := 0
	for _, c := range append(cuts, len(data)) {
		c = min(max(c, prev), len(data))
		a.Write(data[prev:c])
		b.Write(data[prev:c])
		prev = c
	}
	ka, ha := a.Hit()
	kb, hb := b.Hit()
	if ka != kb || ha != hb {
		t.Fatalf("single pass (%q, %v) != reference (%q, %v) on %q cut at %v", ka, ha, kb, hb, data, cuts)
	}
}

// TestScannerSameAsReference: the single-pass scan reports what the
// needle-by-needle scan reported, for random binary data with planted forms,
// delimiters, the pseudonym, and every way of splitting the writes.
func TestScannerSameAsReference(t *testing.T) {
	p := diffPerson()
	var needles [][]byte
	for _, n := range newRefScanner(p).needles {
		needles = append(needles, n.b)
	}
	pieces := [][]byte{[]byte(p.Pseudonym), []byte(" "), []byte("^"), []byte("\x00"), []byte("lyon"), []byte("Lef"), []byte("06 12"), []byte("Lyon"), []byte("1962")}
	r := rand.New(rand.NewPCG(1, 2))
	hits := 0
	for iter := 0; iter < 4000; iter++ {
		var d []byte
		for len(d) < 300 {
			switch r.IntN(40) {
			case 0:
				d = append(d, needles[r.IntN(len(needles))]...)
			case 1, 2, 3, 4, 5, 6, 7, 8:
				d = append(d, pieces[r.IntN(len(pieces))]...)
			default:
				for k := r.IntN(20); k > 0; k-- {
					d = append(d, byte(r.UintN(256)))
				}
			}
		}
		var cuts []int
		for k := r.IntN(5); k > 0; k-- {
			cuts = append(cuts, r.IntN(len(d)+1))
		}
		slicesSort(cuts)
		sameHit(t, p, d, cuts)
		if _, h := func() (string, bool) { s := NewScanner(p); s.Write(d); return s.Hit() }(); h {
			hits++
		}
	}
	if hits < 800 || hits > 3200 {
		t.Fatalf("%d of 4000 random inputs hit: the test data does not exercise both outcomes", hits)
	}
	// Every split of a text with one planted value.
	for _, text := range []string{"x Lefèvre x", "HOPITAL^LYON^", "\x04\x00Lyon", "né le 30/04/1962.", "abclyonxyz234567 end", "tel 06-12-34-56-78;"} {
		for i := 0; i <= len(text); i++ {
			sameHit(t, p, []byte(text), []int{i})
		}
	}
}

// TestPooledScannerSameAsFresh: a recycled scanner (getScanner after
// putScanner, its buffers and scratch copy reused, after hits, skips and
// scans of other persons) reports what a new scanner reports.
func TestPooledScannerSameAsFresh(t *testing.T) {
	persons := []Person{diffPerson(), {Pseudonym: "zzzzlyon", Identifiers: []Identifier{{Kind: "CITY", Value: "Lyon"}, {Kind: "LAST_NAME", Value: "Martin"}}}}
	pieces := [][]byte{[]byte("abclyonxyz234567"), []byte("zzzzlyon"), []byte(" lyon "), []byte("Lefèvre"), []byte("^MARTIN^"), []byte("\x00\x01"), []byte("30/04/1962")}
	r := rand.New(rand.NewPCG(5, 6))
	hits := 0
	for iter := 0; iter < 3000; iter++ {
		p := persons[r.IntN(len(persons))]
		var d []byte
		for len(d) < 120 {
			if r.IntN(40) == 0 {
				d = append(d, pieces[r.IntN(len(pieces))]...)
			} else {
				d = append(d, byte(r.UintN(256)))
			}
		}
		cut, skip := r.IntN(len(d)+1), r.IntN(3) == 0
		a, b := getScanner(p), NewScanner(p)
		for _, s := range []*Scanner{a, b} {
			s.Write(d[:cut])
			if skip {
				s.Skip()
			}
			s.Write(d[cut:])
		}
		ka, ha := a.Hit()
		kb, hb := b.Hit()
		if ka != kb || ha != hb {
			t.Fatalf("recycled scanner (%q, %v) != new scanner (%q, %v)", ka, ha, kb, hb)
		}
		if ha {
			hits++
		}
		putScanner(a)
	}
	if hits < 300 || hits > 2700 {
		t.Fatalf("%d of 3000 inputs hit: both outcomes are not exercised", hits)
	}
}

func slicesSort(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// FuzzScannerSameAsReference compares both scans on arbitrary data split at
// an arbitrary point.
func FuzzScannerSameAsReference(f *testing.F) {
	f.Add([]byte("x Lefèvre x"), uint16(3))
	f.Add([]byte("HOPITAL^LYON^"), uint16(0))
	f.Add([]byte("abclyonxyz234567 lyon "), uint16(9))
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		sameHit(t, diffPerson(), data, []int{int(cut) % (len(data) + 1)})
	})
}

// BenchmarkScan4MB measures the residual scan of 4 MiB of random bytes
// (compressed pixels) in 64 KiB writes, for a full manifest row.
func BenchmarkScan4MB(b *testing.B) {
	data := make([]byte, 4<<20)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range data {
		data[i] = byte(r.UintN(256))
	}
	p := diffPerson()
	for _, impl := range []string{"single-pass", "reference"} {
		b.Run(impl, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var w interface{ Write([]byte) (int, error) }
				if impl == "reference" {
					w = newRefScanner(p)
				} else {
					w = NewScanner(p)
				}
				for off := 0; off < len(data); off += 64 << 10 {
					w.Write(data[off:min(off+64<<10, len(data))])
				}
			}
		})
	}
	_ = bytes.MinRead
}

// TestNeedleSetShared: the files of one person share one needle set; a
// person with other identifiers gets another; concurrent scans are safe.
func TestNeedleSetShared(t *testing.T) {
	p := diffPerson()
	//lint:ignore SA4000 two scanners, compared: the needle set is shared
	if NewScanner(p).needleSet != NewScanner(p).needleSet {
		t.Fatal("needle set rebuilt for the same person")
	}
	q := diffPerson()
	q.Identifiers = append(q.Identifiers, Identifier{Kind: "EMAIL", Value: "zelie@example.org"})
	if NewScanner(q).needleSet == NewScanner(p).needleSet {
		t.Fatal("needle set shared between different persons")
	}
	done := make(chan bool)
	for i := range 8 {
		go func() {
			r := diffPerson()
			r.Pseudonym = fmt.Sprintf("PSEUDO%d", i%3)
			s := NewScanner(r)
			s.Write([]byte("x Lefèvre x"))
			_, hit := s.Hit()
			done <- hit
		}()
	}
	for range 8 {
		if !<-done {
			t.Error("missed hit")
		}
	}
}

// TestSEC_PSE_4_NotScannedRanges: bytes in a range a handler reports are
// not read by the scan, whatever the write pieces; an identifier right
// before or after the range, or between two ranges, is still found, and
// none is made of bytes joined across a range.
func TestSEC_PSE_4_NotScannedRanges(t *testing.T) {
	p := diffPerson()
	cases := []struct {
		data   string
		ranges [][2]int64
		hit    bool
	}{
		{"0123Lefèvre89", [][2]int64{{4, 12}}, false},             // inside
		{"Lefèvre xxxxxxxx", [][2]int64{{8, 16}}, true},           // before
		{"xxxxxxxx Lefèvre", [][2]int64{{0, 8}}, true},            // after
		{"xxxx Lefèvre xxxx", [][2]int64{{0, 4}, {13, 17}}, true}, // between two
		{"LefXXXXèvre", [][2]int64{{3, 7}}, false},                // joined across
		{"xxxxxxxx Lefèvre", [][2]int64{{0, 8}, {4, 12}}, true},   // overlapping: scanned
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range cases {
		for iter := 0; iter < 50; iter++ {
			w := &scanned{dst: io.Discard, sc: NewScanner(p)}
			for _, x := range c.ranges {
				w.NotScanned(x[0], x[1]-x[0])
			}
			for b := []byte(c.data); len(b) > 0; {
				n := 1 + r.IntN(len(b))
				_, _ = w.Write(b[:n])
				b = b[n:]
			}
			if _, hit := w.sc.Hit(); hit != c.hit {
				t.Fatalf("%q ranges %v: hit %v, want %v", c.data, c.ranges, hit, c.hit)
			}
		}
	}
}
