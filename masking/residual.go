package masking

import (
	"bytes"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// MinIdentifierLen is the shortest identifier value the residual scan
// looks for: shorter values (a sex code, a two-letter initial) match by
// chance everywhere and identify no one.
const MinIdentifierLen = 4

// MinNumericLen is the shortest all-digit value the byte scan looks for.
const MinNumericLen = 8

type needle struct {
	b     []byte
	kind  string
	delim bool // short value: must stand between delimiters (text), not inside binary data
}

// ShortIdentifierLen: values shorter than this (a 4-letter city, a short
// first name) occur by chance in compressed pixel data; the byte scan only
// counts them when they stand between text delimiters.
const ShortIdentifierLen = 6

func isDelim(c byte) bool {
	return c < 0x20 || strings.IndexByte(" ^\\,.-/:;=()'\"_", c) >= 0
}

// Scanner is the residual scan (the last line of defence, SEC-PSE-4): it
// searches a byte stream for every identifying value of a person in raw
// and normalized forms, across Write boundaries. It implements io.Writer.
//
// The scan is one pass over the bytes whatever the number of forms, and
// looks at one position in three: every needle has at least
// MinIdentifierLen (4) bytes, so one of the two-byte blocks at offsets 0, 1
// and 2 of an occurrence starts at a multiple of 3. A bitmap of those
// blocks ("hot") says where an occurrence may overlap; a second bitmap of
// the needles' first two bytes selects the starts to compare. (One
// bytes.Index per form, the first version, cost about 3.5 ns a byte with a
// full manifest row: the largest cost of an ingest of camera photos and CT
// slices.)
type Scanner struct {
	*needleSet
	buf     []byte // tail + the current write, reused
	tail    []byte
	hit     string
	final   bool
	started bool   // bytes before the current buffer exist
	scratch []byte // the window with the pseudonym's bytes zeroed, reused
}

// needleSet is what a scan looks for; it never changes once built, so the
// files of one person share it.
type needleSet struct {
	pseudo  []byte // the person's pseudonym: hdw writes it, its letters are not a hit
	needles []needle
	cands   map[uint16][]int32 // needle indexes by first two bytes, ascending
	max     int
	// The bitmaps come after every pointer, so that the garbage collector
	// does not read their 16 KiB at each cycle for each cached person.
	hot   [1 << 16 / 64]uint64 // two-byte blocks at offsets 0-2 of some needle
	pairs [1 << 16 / 64]uint64 // first two bytes of some needle
}

// NewScanner prepares a scan for p's identifiers.
func NewScanner(p Person) *Scanner { return &Scanner{needleSet: needlesFor(p)} }

// scanners recycles the buffers of the scans of [Deidentifier] and
// [Spells] (a scanner is dropped when its last scan ends).
var scanners = sync.Pool{New: func() any { return new(Scanner) }}

// maxPooledScan bounds the buffers kept with a recycled scanner.
const maxPooledScan = 1 << 20

// getScanner is NewScanner with a recycled scanner, reset.
func getScanner(p Person) *Scanner {
	s := scanners.Get().(*Scanner)
	s.restart(needlesFor(p))
	return s
}

// restart makes s a new scan for the needles set, keeping its buffers.
func (s *Scanner) restart(set *needleSet) {
	*s = Scanner{needleSet: set, buf: s.buf[:0], tail: s.tail[:0], scratch: s.scratch[:0]}
}

// putScanner recycles s, which its caller no longer uses.
func putScanner(s *Scanner) {
	if cap(s.buf) > maxPooledScan || cap(s.tail) > maxPooledScan || cap(s.scratch) > maxPooledScan {
		return
	}
	s.needleSet = nil
	scanners.Put(s)
}

// needleCache keeps the needle sets of the last persons seen: the forms
// of a full manifest row (Unicode normalization, dates, phones) cost more
// than the scan of a small file.
var needleCache personCache[*needleSet]

func needlesFor(p Person) *needleSet {
	return needleCache.get(p.Pseudonym, p.Identifiers, func() *needleSet { return newNeedleSet(p) })
}

func newNeedleSet(p Person) *needleSet {
	s := &needleSet{}
	if p.Pseudonym != "" {
		s.pseudo = []byte(p.Pseudonym)
		s.max = len(s.pseudo)
	}
	seen := map[string]bool{}
	add := func(v, kind string) {
		if len(v) < MinIdentifierLen || seen[v] {
			return
		}
		// Short all-digit values (postal codes, house numbers) occur by
		// chance inside keyed 2.25 UIDs and pixel data; in text they are
		// caught by ScanText and the scrubber's patterns instead.
		if len(v) < MinNumericLen && strings.Trim(v, "0123456789") == "" {
			return
		}
		seen[v] = true
		s.needles = append(s.needles, needle{b: []byte(v), kind: kind, delim: len(v) < ShortIdentifierLen})
		if len(v) > s.max {
			s.max = len(v)
		}
	}
	for _, id := range p.Identifiers {
		v := strings.TrimSpace(id.Value)
		for _, f := range forms(v, id.Kind) {
			add(f, id.Kind)
		}
	}
	s.cands = make(map[uint16][]int32, len(s.needles))
	for i, n := range s.needles {
		k := pair(n.b, 0) // needles have MinIdentifierLen (4) bytes or more
		s.pairs[k>>6] |= 1 << (k & 63)
		s.cands[k] = append(s.cands[k], int32(i))
		for o := 0; o < MinIdentifierLen-1; o++ {
			h := pair(n.b, o)
			s.hot[h>>6] |= 1 << (h & 63)
		}
	}
	return s
}

// forms returns the raw and normalized forms of an identifier value.
func forms(v, kind string) []string {
	out := []string{v, strings.ToUpper(v), strings.ToLower(v)}
	plain := string(fold(v))
	out = append(out, plain, strings.ToUpper(plain), stripAccents(v))
	if kind == "BIRTH_DATE" || kind == "DATE" {
		if len(v) == 10 && v[4] == '-' && v[7] == '-' {
			y, m, d := v[0:4], v[5:7], v[8:10]
			// DICOM DA, French forms, EXIF/TIFF "YYYY:MM:DD".
			out = append(out, y+m+d, d+"/"+m+"/"+y, d+"."+m+"."+y, d+"-"+m+"-"+y, y+":"+m+":"+d, y+"/"+m+"/"+d)
		}
	}
	if kind == "NIR" || kind == "TEL" {
		compact := strings.Map(func(r rune) rune {
			if r == ' ' || r == '.' || r == '-' {
				return -1
			}
			return r
		}, v)
		out = append(out, compact)
		// The same groups with another separator: 06.12.34.56.78, 06-12-...
		groups := strings.FieldsFunc(v, func(r rune) bool { return r == ' ' || r == '.' || r == '-' })
		for _, sep := range []string{" ", ".", "-"} {
			out = append(out, strings.Join(groups, sep))
		}
	}
	return out
}

// stripAccents removes diacritics and keeps case (Lefèvre -> Lefevre).
func stripAccents(v string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(v) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// compactLen is the shortest separator-free form ScanText compares: below
// it, joining words makes chance matches across word boundaries.
const compactLen = 8

// compactText keeps only letters and digits of a folded text.
func compactText(f string) string {
	return strings.Map(func(r rune) rune {
		if isWordRune(r) {
			return r
		}
		return -1
	}, f)
}

// Write scans p; it never fails. Matches in the last bytes, where the
// pseudonym may still be completing, are checked on the next Write or by Hit.
func (s *Scanner) Write(p []byte) (int, error) {
	if s.hit != "" || len(s.needles) == 0 {
		return len(p), nil
	}
	s.final = false
	s.buf, s.tail = window(s.buf, s.tail, p, len(s.pseudo), s.max, s.checkOpen)
	s.started = true
	return len(p), nil
}

func (s *Scanner) checkOpen(buf []byte, limit int) { s.check(buf, limit, false) }

// window joins the bytes kept from the previous writes (tail) and p in
// buf (reused), checks them up to where the pseudonym may still be
// completing, and returns buf and the bytes to keep: the longest needle
// and the pseudonym, and the delimiter before a short match.
func window(buf, tail, p []byte, pseudo, longest int, check func(buf []byte, limit int)) ([]byte, []byte) {
	buf = append(append(buf[:0], tail...), p...)
	limit := len(buf)
	if pseudo > 0 {
		limit -= pseudo - 1
	}
	check(buf, limit)
	keep := min(longest+pseudo+1, len(buf))
	return buf, append(tail[:0], buf[len(buf)-keep:]...)
}

// check records a hit for a needle that ends at or before limit (short
// needles also need a delimiter on both sides; at the end of the stream,
// final, the end counts as one). When several needles match, the hit is the
// one added first, as a scan needle by needle would report.
func (s *Scanner) check(buf []byte, limit int, final bool) {
	scan := buf
	if len(s.pseudo) > 0 && bytes.Contains(buf, s.pseudo) {
		// A base32 pseudonym may spell a short name by chance ("lyon"): its
		// occurrences are zeroed in a copy (bytes.ReplaceAll with zeros,
		// without allocating).
		s.scratch = append(s.scratch[:0], buf...)
		for i := 0; ; {
			j := bytes.Index(s.scratch[i:], s.pseudo)
			if j < 0 {
				break
			}
			clear(s.scratch[i+j : i+j+len(s.pseudo)])
			i += j + len(s.pseudo)
		}
		scan = s.scratch
	}
	best := len(s.needles)
	const step = MinIdentifierLen - 1
	hot := &s.hot // hoisted: the loop reads it once per third byte
	for j := 0; j+1 < len(scan); j += step {
		if h := uint16(scan[j])<<8 | uint16(scan[j+1]); hot[h>>6]&(1<<(h&63)) == 0 {
			continue
		}
		for i := max(0, j-step+1); i <= j; i++ {
			if best = s.at(scan, i, limit, final, best); best == 0 {
				break
			}
		}
		if best == 0 {
			break
		}
	}
	if best < len(s.needles) {
		s.hit = s.needles[best].kind
	}
}

func pair(b []byte, i int) uint16 { return uint16(b[i])<<8 | uint16(b[i+1]) }

// at returns the lowest index below best of a needle that matches at i.
func (s *Scanner) at(scan []byte, i, limit int, final bool, best int) int {
	if i+1 >= len(scan) {
		return best
	}
	k := pair(scan, i)
	if s.pairs[k>>6]&(1<<(k&63)) == 0 {
		return best
	}
	for _, ni := range s.cands[k] {
		if int(ni) >= best {
			break
		}
		n := &s.needles[ni]
		end := i + len(n.b)
		if end > limit || end > len(scan) || !bytes.Equal(scan[i:end], n.b) {
			continue
		}
		if n.delim {
			okBefore := i == 0 && !s.started || i > 0 && isDelim(scan[i-1])
			okAfter := end < len(scan) && isDelim(scan[end]) || end == len(scan) && final
			if !okBefore || !okAfter {
				continue
			}
		}
		return int(ni)
	}
	return best
}

// Hit returns the kind of the first identifier found, once the stream has
// ended (it checks the last bytes too).
// Skip marks a gap in the stream: bytes written around it are not joined
// by a match (the gap holds bytes the scan does not read, see [Unscanned]).
// What came before is checked as if the stream ended there.
func (s *Scanner) Skip() {
	s.Hit()
	s.final, s.started = false, false
	s.tail = s.tail[:0]
}

func (s *Scanner) Hit() (string, bool) {
	if s.hit == "" && !s.final && len(s.needles) > 0 {
		s.final = true
		s.check(s.tail, len(s.tail), true)
	}
	return s.hit, s.hit != ""
}

// Spells reports whether b, written as it is, would be a residual-scan
// hit for p (the byte scan of [Scanner], with the start and the end of b
// counting as delimiters). Generators of random-looking values (keyed
// UIDs) use it to re-derive a value that spells an identifier by chance,
// so that clean output never trips the safety net.
func Spells(b []byte, p Person) bool {
	sp := NewSpeller(p)
	defer sp.Close()
	return sp.Spells(b)
}

// A Speller is [Spells] for the values of one person (a file's keyed
// UIDs): its scanner and the person's needles are looked up at the first
// value, not for each (a lookup compares every identifier of the person).
// Close gives the scanner back. A Speller is not for concurrent use.
type Speller struct {
	p Person
	s *Scanner
}

// NewSpeller returns a Speller for p's identifiers.
func NewSpeller(p Person) Speller { return Speller{p: p} }

// Spells is Spells(b, p) for the Speller's person p.
func (sp *Speller) Spells(b []byte) bool {
	if sp.s == nil {
		sp.s = getScanner(sp.p)
	} else {
		sp.s.restart(sp.s.needleSet)
	}
	sp.s.Write(b)
	_, hit := sp.s.Hit()
	return hit
}

// Close gives the Speller's scanner back; the Speller may be used again.
func (sp *Speller) Close() {
	if sp.s != nil {
		putScanner(sp.s)
		sp.s = nil
	}
}

// ScanText checks a parsed text value for p's identifiers in all the forms
// the byte scan knows (case, accents, date and phone forms), accent- and
// case-insensitively; values of at least compactLen letters and digits are
// also found with their separators changed or removed (Saint Denis,
// 0612345678, 30041962). It returns the kind of the first hit, never the value.
func ScanText(text string, p Person) (string, bool) {
	f := string(fold(text))
	fc := compactText(f)
	for _, id := range p.Identifiers {
		v := strings.TrimSpace(id.Value)
		if len(v) < MinIdentifierLen {
			continue
		}
		for _, form := range forms(v, id.Kind) {
			ff := string(fold(form))
			if strings.Contains(f, ff) {
				return id.Kind, true
			}
			if c := compactText(ff); len(c) >= compactLen && strings.Contains(fc, c) {
				return id.Kind, true
			}
		}
	}
	return "", false
}
