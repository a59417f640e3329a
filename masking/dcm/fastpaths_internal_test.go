package dcm

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"hdw/masking"
)

// The plain forms of this package's speed tricks (issue 19's speed): each
// fast path gives what the code it replaced gave.

// TestIssue19_PlainASCIILikeByteLoop: plainASCII is the byte loop that
// looked for a byte of 0x80 or more or an escape, at every length and
// offset of the eight-byte steps.
func TestIssue19_PlainASCIILikeByteLoop(t *testing.T) {
	loop := func(b []byte) bool {
		for _, c := range b {
			if c >= 0x80 || c == 0x1B {
				return false
			}
		}
		return true
	}
	r := rand.New(rand.NewPCG(19, 1))
	for n := range 40 {
		for range 200 {
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(0x20 + r.IntN(0x5F))
			}
			if n > 0 && r.IntN(2) == 0 {
				b[r.IntN(n)] = []byte{0x1B, 0x80, 0xFF, 0xC3, 0x7F, 0x00}[r.IntN(6)]
			}
			if got, want := plainASCII(b), loop(b); got != want {
				t.Fatalf("%q: plainASCII %v, byte loop %v", b, got, want)
			}
		}
	}
}

// TestIssue19_RawVRLikeString: rawVR is string([]byte{a, b}) for every
// pair of bytes.
func TestIssue19_RawVRLikeString(t *testing.T) {
	for a := range 256 {
		for b := range 256 {
			if got, want := rawVR(byte(a), byte(b)), string([]byte{byte(a), byte(b)}); got != want {
				t.Fatalf("%02X %02X: %q, want %q", a, b, got, want)
			}
		}
	}
}

// TestIssue19_SafePrivateTrimsLikeTrimSpace: safelist entries with white
// space around them (ASCII or not) match as their strings.TrimSpace forms
// do, now that only entries with such an edge are trimmed.
func TestIssue19_SafePrivateTrimsLikeTrimSpace(t *testing.T) {
	const entry = "SYNTH PRIVATE|0029,XX03"
	for _, s := range []string{entry, " " + entry, entry + "\t", "\u00A0" + entry + "\u2003", "\n" + entry + " ", "x" + entry, entry + "\u00A0x", ""} {
		for _, el := range []uint16{0x1003, 0x1004} {
			with := &deid{opts: masking.DICOMOptions{RetainSafePrivate: true, SafePrivate: []string{s}}}
			trimmed := &deid{opts: masking.DICOMOptions{RetainSafePrivate: true, SafePrivate: []string{strings.TrimSpace(s)}}}
			if got, want := with.safePrivate("SYNTH PRIVATE", 0x0029, el), trimmed.safePrivate("SYNTH PRIVATE", 0x0029, el); got != want {
				t.Errorf("%q, (0029,%04X): %v, trimmed entry %v", s, el, got, want)
			}
		}
	}
}

// TestIssue19_PixelInfoAndBytesReadDirectly: pixelInfoOf and bytesOf read
// what GetValue returns, without allocating, and pixel values made in the
// arena are dicom.NewValue's.
func TestIssue19_PixelInfoAndBytesReadDirectly(t *testing.T) {
	info := dicom.PixelDataInfo{IntentionallyUnprocessed: true, UnprocessedValueData: []byte{1, 2, 3, 4}}
	pv, _ := dicom.NewValue(info)
	bv, _ := dicom.NewValue([]byte{5, 6})
	if valuePtrTypes.pixels == nil || valuePtrTypes.bytes == nil {
		t.Fatal("suyashkumar/dicom's value layout changed: pixel data and bytes are boxed again (slower, still correct)")
	}
	if got, ok := pixelInfoOf(pv); !ok || got.IntentionallyUnprocessed != true || string(got.UnprocessedValueData) != "\x01\x02\x03\x04" {
		t.Fatalf("pixelInfoOf = %+v, %v", got, ok)
	}
	if _, ok := pixelInfoOf(bv); ok {
		t.Fatal("pixel data read from a bytes value")
	}
	if got := bytesOf(bv); string(got) != "\x05\x06" || bytesOf(pv) != nil {
		t.Fatalf("bytesOf = %v", got)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = pixelInfoOf(pv); _ = bytesOf(bv) }); n != 0 {
		t.Fatalf("%v allocations per read", n)
	}
	a := newArena()
	if got := newValue(&a.vals.pixels, info); !got.Equals(pv) || got.ValueType() != dicom.PixelData {
		t.Fatalf("arena pixel value %v, NewValue %v", got, pv)
	}
}

// TestIssue19_DictCacheKeepsTwoPerSet: dictVRs gives tag.Find's VRs, and
// two tags that hash to the same set of the cache, read in turn, both stay
// (with one slot per set they evicted each other: a lookup and an
// allocation per file).
func TestIssue19_DictCacheKeepsTwoPerSet(t *testing.T) {
	seen := map[uint32]tag.Tag{}
	var a, b tag.Tag
	for _, g := range []uint16{0x0008, 0x0010, 0x0018, 0x0020, 0x0028} {
		for e := uint16(0); e < 0x2000 && a == (tag.Tag{}); e++ {
			t1 := tag.Tag{Group: g, Element: e}
			info, err := tag.Find(t1)
			if err != nil || len(info.VRs) == 0 {
				continue
			}
			k := (uint32(g)*0x9E37 + uint32(e)*0x85EB) & 1023
			if o, ok := seen[k]; ok {
				a, b = o, t1
			}
			seen[k] = t1
		}
	}
	if a == (tag.Tag{}) {
		t.Skip("no two dictionary tags share a set")
	}
	for _, x := range []tag.Tag{a, b} {
		info, _ := tag.Find(x)
		if got := dictVRs(x); !slices.Equal(got, info.VRs) {
			t.Fatalf("%v: %v, tag.Find %v", x, got, info.VRs)
		}
	}
	if n := testing.AllocsPerRun(100, func() { dictVRs(a); dictVRs(b) }); n != 0 {
		t.Fatalf("%v, %v: %v allocations per pair of lookups", a, b, n)
	}
}

// TestIssue19_ByTagLikeGroupThenElement: byTag orders by group, then by
// element, including groups and elements past 0x7FFF.
func TestIssue19_ByTagLikeGroupThenElement(t *testing.T) {
	vals := []uint16{0, 1, 0x7FFF, 0x8000, 0xFFFE, 0xFFFF}
	for _, g1 := range vals {
		for _, e1 := range vals {
			for _, g2 := range vals {
				for _, e2 := range vals {
					a := &dicom.Element{Tag: tag.Tag{Group: g1, Element: e1}}
					b := &dicom.Element{Tag: tag.Tag{Group: g2, Element: e2}}
					want := cmp.Or(cmp.Compare(g1, g2), cmp.Compare(e1, e2))
					if got := byTag(a, b); got != want {
						t.Fatalf("(%04X,%04X) (%04X,%04X): %d, want %d", g1, e1, g2, e2, got, want)
					}
				}
			}
		}
	}
}

// TestIssue19_SyntaxNameLikeString: syntaxName is string(b), without an
// allocation for the syntaxes of this package's constants.
func TestIssue19_SyntaxNameLikeString(t *testing.T) {
	for _, s := range []string{tsImplicitLE, tsExplicitLE, tsExplicitBE, tsDeflated, "1.2.840.10008.1.2.4.50", "", "1.2"} {
		if got := syntaxName([]byte(s)); got != s {
			t.Fatalf("%q: %q", s, got)
		}
	}
	b := []byte(tsExplicitLE)
	if n := testing.AllocsPerRun(100, func() { _ = syntaxName(b) }); n != 0 {
		t.Fatalf("%v allocations for a known syntax", n)
	}
}

// TestIssue19_SplitLikeStringsSplit: the arena's split is
// strings.Split(s, `\`), for lists shorter and longer than the carved
// ones.
func TestIssue19_SplitLikeStringsSplit(t *testing.T) {
	a := newArena()
	r := rand.New(rand.NewPCG(19, 3))
	for _, s := range []string{"", `\`, `\\`, `A\`, `\B`, `L\P`, strings.Repeat(`1\`, 40)} {
		if got, want := a.split(s), strings.Split(s, `\`); !slices.Equal(got, want) {
			t.Fatalf("%q: %q, strings.Split %q", s, got, want)
		}
	}
	for range 2000 {
		b := make([]byte, r.IntN(30))
		for i := range b {
			b[i] = `ab\`[r.IntN(3)]
		}
		if got, want := a.split(string(b)), strings.Split(string(b), `\`); !slices.Equal(got, want) {
			t.Fatalf("%q: %q, strings.Split %q", b, got, want)
		}
	}
}

// TestIssue19_VRLikeToUpper: vr is strings.ToUpper of the element's VR,
// for every two bytes and other lengths.
func TestIssue19_VRLikeToUpper(t *testing.T) {
	vrs := []string{"", "o", "ob", "OBX", "\u00e9a"}
	for a := range 256 {
		for b := range 256 {
			vrs = append(vrs, string([]byte{byte(a), byte(b)}))
		}
	}
	for _, s := range vrs {
		if got, want := vr(&dicom.Element{RawValueRepresentation: s}), strings.ToUpper(s); got != want {
			t.Fatalf("%q: %q, strings.ToUpper %q", s, got, want)
		}
	}
}

// TestIssue19_AllSpaceLikeRuneLoop: allSpace is the loop over runes with
// unicode.IsSpace it replaced, for every first byte.
func TestIssue19_AllSpaceLikeRuneLoop(t *testing.T) {
	loop := func(s string) bool {
		for _, c := range s {
			if !unicode.IsSpace(c) {
				return false
			}
		}
		return true
	}
	vals := []string{"", " ", "  \t\r\n", "\u00a0 ", "\u0085", " A", "A ", "\xff", "\u2003x"}
	for c := range 256 {
		vals = append(vals, string([]byte{byte(c)}), string([]byte{byte(c), ' '}), string([]byte{' ', byte(c)}))
	}
	for _, s := range vals {
		if got, want := allSpace(s), loop(s); got != want {
			t.Fatalf("%q: %v, rune loop %v", s, got, want)
		}
	}
}

// TestIssue19_TrimValueLikeTrims: trimValue is strings.TrimRight of
// strings.TrimSpace with the cutset NUL, for every byte at either end.
func TestIssue19_TrimValueLikeTrims(t *testing.T) {
	vals := []string{"", " ", "\x00", "A", " A ", "A\x00", "A \x00", "\u00a0A", "A\u0085", "\x00A"}
	for c := range 256 {
		b := string([]byte{byte(c)})
		vals = append(vals, b, b+"X", "X"+b, b+"X"+b)
	}
	for _, s := range vals {
		if got, want := trimValue(s), strings.TrimRight(strings.TrimSpace(s), "\x00"); got != want {
			t.Fatalf("%q: %q, want %q", s, got, want)
		}
	}
}

// TestIssue19_PrivateCreatorsLikeMap: the list of a level's private
// creators answers as the map it replaced, the last creator of a block
// winning.
func TestIssue19_PrivateCreatorsLikeMap(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 5))
	for range 500 {
		var c privateCreators
		m := map[uint32]string{}
		for range r.IntN(12) {
			b, name := uint32(0x00290010+r.IntN(6)), string(rune('A'+r.IntN(26)))
			c = c.set(b, name)
			m[b] = name
		}
		for b := uint32(0x00290010); b < 0x00290018; b++ {
			got, ok := c.get(b)
			want, wantOK := m[b]
			if got != want || ok != wantOK {
				t.Fatalf("block %08X: %q %v, map %q %v", b, got, ok, want, wantOK)
			}
		}
	}
}
