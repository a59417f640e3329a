package masking

import (
	"bytes"
	"strings"
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
type Scanner struct {
	pseudo  []byte // the person's pseudonym: hdw writes it, its letters are not a hit
	needles []needle
	tail    []byte
	max     int
	hit     string
	final   bool
	started bool // bytes before the current buffer exist
}

// NewScanner prepares a scan for p's identifiers.
func NewScanner(p Person) *Scanner {
	s := &Scanner{}
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
	buf := append(s.tail, p...)
	defer func() { s.started = true }()
	limit := len(buf)
	if len(s.pseudo) > 0 {
		limit -= len(s.pseudo) - 1
	}
	s.check(buf, limit, false)
	keep := s.max + len(s.pseudo) + 1 // +1: the delimiter before a short match
	if keep > len(buf) {
		keep = len(buf)
	}
	s.tail = append(s.tail[:0], buf[len(buf)-keep:]...)
	return len(p), nil
}

// check records a hit for a needle that ends at or before limit (short
// needles also need a delimiter on both sides; at the end of the stream,
// final, the end counts as one).
func (s *Scanner) check(buf []byte, limit int, final bool) {
	scan := buf
	if len(s.pseudo) > 0 && bytes.Contains(buf, s.pseudo) {
		// A base32 pseudonym may spell a short name by chance ("lyon").
		scan = bytes.ReplaceAll(buf, s.pseudo, make([]byte, len(s.pseudo)))
	}
	for _, n := range s.needles {
		for off := 0; ; {
			i := bytes.Index(scan[off:], n.b)
			if i < 0 {
				break
			}
			at, end := off+i, off+i+len(n.b)
			if end <= limit {
				if !n.delim {
					s.hit = n.kind
					return
				}
				okBefore := at == 0 && !s.started || at > 0 && isDelim(scan[at-1])
				okAfter := end < len(scan) && isDelim(scan[end]) || end == len(scan) && final
				if okBefore && okAfter {
					s.hit = n.kind
					return
				}
			}
			off += i + 1
		}
	}
}

// Hit returns the kind of the first identifier found, once the stream has
// ended (it checks the last bytes too).
func (s *Scanner) Hit() (string, bool) {
	if s.hit == "" && !s.final && len(s.needles) > 0 {
		s.final = true
		s.check(s.tail, len(s.tail), true)
	}
	return s.hit, s.hit != ""
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
