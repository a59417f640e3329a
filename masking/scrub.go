package masking

import (
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Patterns replaced in free text whatever the person (SEC-PSE-4). Order
// matters: NIR before phone before postal code. Each pattern has what a
// match needs at least (ASCII digits, one of some bytes), so that a value
// that cannot match skips the regular expression: "MONOCHROME2" or
// "Series 3" run none (they were a tenth of a CT slice's CPU). The needs
// are counted on the value as given; a replacement only removes digits.
var textPatterns = []struct {
	re        *regexp.Regexp
	token     string
	minDigits int    // ASCII digits a match holds at least (\d is ASCII)
	needAny   string // a match holds one of these bytes ("" : none needed)
}{
	// 12: 1 + 2 + 2 + 2 (or "2a": 1) + 3 + 3, at least 12 digits.
	{regexp.MustCompile(`(?i)\b[1-478]\s?\d{2}\s?(?:0[1-9]|1[0-2]|[2-9]\d)\s?(?:\d{2}|2[ab])\s?\d{3}\s?\d{3}(?:\s?\d{2})?\b`), "NIR", 12, ""},
	{regexp.MustCompile(`(?i)[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}`), "EMAIL", 0, "@"},
	// 6: 1 + 1 + 2 x 2 after a '+' ("00" adds two).
	{regexp.MustCompile(`(?:\+|\b00)\s?\d{1,3}[\s.-]?\(?\d\)?(?:[\s.-]?\d{2,4}){2,5}\b`), "TEL", 6, "+0"},
	{regexp.MustCompile(`\b0[1-9](?:[\s.-]?\d{2}){4}\b`), "TEL", 10, ""},
	// 4: 1 + 1 + 2, with a separator.
	{regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b`), "DATE", 4, "/.-"},
	// 5: 1 + 4.
	{regexp.MustCompile(`(?i)\b\d{1,2}(?:er)?\s+(?:janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|décembre|decembre)\s+\d{4}\b`), "DATE", 5, ""},
	// 4: "2a" or "2b" and 3 digits.
	{regexp.MustCompile(`\b(?:0[1-9]|[1-8]\d|9[0-8]|2[ab])\d{3}\b`), "CODE_POSTAL", 4, ""},
}

// fold lowers case and strips accents, keeping one rune per input rune
// where possible so that positions can be mapped back.
func fold(s string) []rune {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		out = append(out, foldRune(r))
	}
	return out
}

// foldRune is one rune of [fold]: lower case, its base letter without
// combining marks. ASCII needs no normalization.
func foldRune(r rune) rune {
	if r < utf8.RuneSelf {
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return r
	}
	base := r
	for _, x := range norm.NFD.String(string(r)) {
		if !unicode.Is(unicode.Mn, x) {
			base = x
			break
		}
	}
	return unicode.ToLower(base)
}

// foldString is string(fold(s)) without the rune slice for ASCII text.
func foldString(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return string(fold(s))
		}
	}
	return strings.ToLower(s) // no copy when s has no upper case
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// identifierWords returns the folded words of an identifier; the matcher
// treats any separators between them (space, '-', '^' or nothing) as equal.
func identifierWords(v string) []string {
	f := string(fold(v))
	return strings.FieldsFunc(f, func(r rune) bool { return !isWordRune(r) })
}

// scrubID is one identifier as the scrubber matches it.
type scrubID struct {
	words []string
	kind  string
}

// scrubIDs returns p's identifiers as the scrubber matches them, longest
// first so that "Marie Claire" wins over "Marie". A record or a DICOM file
// scrubs many values of one person: the folded words are kept for the
// last persons seen (folding and sorting them per value was a third of
// the CPU of a CT slice's de-identification).
func scrubIDs(p Person) []scrubID {
	if len(p.Identifiers) == 0 {
		return nil
	}
	return scrubCache.get("", p.Identifiers, func() []scrubID { return newScrubIDs(p.Identifiers) })
}

var scrubCache personCache[[]scrubID]

func newScrubIDs(identifiers []Identifier) []scrubID {
	type sized struct {
		scrubID
		n int
	}
	var ids []sized
	for _, x := range identifiers {
		w := identifierWords(x.Value)
		total := 0
		for _, ww := range w {
			total += len(ww)
		}
		if total < 2 {
			continue
		}
		ids = append(ids, sized{scrubID{w, tokenFor(x.Kind)}, total})
	}
	sort.SliceStable(ids, func(i, j int) bool { return ids[i].n > ids[j].n })
	out := make([]scrubID, len(ids))
	for i, x := range ids {
		out[i] = x.scrubID
	}
	return out
}

// ScrubText replaces the person's own identifiers (accent- and
// case-insensitive, whatever separators) and identifying patterns (NIR,
// phone, email, dates, postal codes) with the generic tokens of SEC-PSE-4.
// It is deterministic.
func ScrubText(s string, p Person) string {
	return scrubPatterns(scrubIdentifiers(s, scrubIDs(p)))
}

// scrubIdentifiers replaces the identifiers ids in s.
func scrubIdentifiers(s string, ids []scrubID) string {
	// Every match starts with an identifier's first word: most values
	// (codes, descriptions) hold none and are returned as they are. An
	// ASCII value is searched without folding it into a new string.
	if !mayHoldFirstWord(s, ids) {
		if utf8.ValidString(s) {
			return s
		}
		return string([]rune(s)) // each invalid byte as U+FFFD, as below
	}
	fs := foldString(s)
	rs := []rune(s)
	fr := []rune(fs)
	if len(fr) != len(rs) {
		fr = []rune(strings.ToLower(s))
	}
	var b strings.Builder
	for i := 0; i < len(rs); {
		matched := false
		if i == 0 || !isWordRune(fr[i-1]) {
			for _, x := range ids {
				if n := matchWords(fr, i, x.words); n > 0 {
					b.WriteString(x.kind)
					i += n
					matched = true
					break
				}
			}
		}
		if !matched {
			b.WriteRune(rs[i])
			i++
		}
	}
	return b.String()
}

// mayHoldFirstWord reports whether the folded s contains the first word
// of one of ids.
func mayHoldFirstWord(s string, ids []scrubID) bool {
	if len(ids) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			fs := foldString(s)
			for _, x := range ids {
				if strings.Contains(fs, x.words[0]) {
					return true
				}
			}
			return false
		}
	}
	for _, x := range ids {
		if containsLowerASCII(s, x.words[0]) {
			return true
		}
	}
	return false
}

// containsLowerASCII reports whether strings.ToLower(s) contains w, for
// an ASCII s and a lower-case w (a w with other letters is not in it).
func containsLowerASCII(s, w string) bool {
	if w == "" {
		return true
	}
	for i := 0; i+len(w) <= len(s); i++ {
		j := 0
		for j < len(w) {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != w[j] {
				break
			}
			j++
		}
		if j == len(w) {
			return true
		}
	}
	return false
}

// scrubPatterns replaces the identifying patterns in s, skipping those
// whose needs s does not meet (most values: codes, descriptions).
func scrubPatterns(s string) string {
	digits := 0
	for i := 0; i < len(s); i++ {
		if '0' <= s[i] && s[i] <= '9' {
			digits++
		}
	}
	for _, pt := range textPatterns {
		if digits < pt.minDigits || pt.needAny != "" && !strings.ContainsAny(s, pt.needAny) {
			continue
		}
		s = pt.re.ReplaceAllString(s, pt.token)
	}
	return s
}

// matchWords matches words at fr[i:], allowing runs of non-word runes
// (or nothing) between words, and requiring a word boundary after.
func matchWords(fr []rune, i int, words []string) int {
	j := i
	for k, w := range words {
		if k > 0 {
			for j < len(fr) && !isWordRune(fr[j]) && fr[j] != '\n' {
				j++
			}
		}
		for _, r := range w {
			if j >= len(fr) || fr[j] != r {
				return 0
			}
			j++
		}
	}
	if j < len(fr) && isWordRune(fr[j]) {
		return 0
	}
	return j - i
}

// tokenFor maps an identifier kind to its generic token.
func tokenFor(kind string) string {
	switch kind {
	case "LAST_NAME", "NAME_OF_BIRTH":
		return "NAME_OF_BIRTH"
	case "":
		return "IDENTIFIER"
	}
	return kind
}
