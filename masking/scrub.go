package masking

import (
	"regexp"
	"sort"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Patterns replaced in free text whatever the person (SEC-PSE-4). Order
// matters: NIR before phone before postal code.
var textPatterns = []struct {
	re    *regexp.Regexp
	token string
}{
	{regexp.MustCompile(`(?i)\b[1-478]\s?\d{2}\s?(?:0[1-9]|1[0-2]|[2-9]\d)\s?(?:\d{2}|2[ab])\s?\d{3}\s?\d{3}(?:\s?\d{2})?\b`), "NIR"},
	{regexp.MustCompile(`(?i)[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}`), "EMAIL"},
	{regexp.MustCompile(`(?:\+|\b00)\s?\d{1,3}[\s.-]?\(?\d\)?(?:[\s.-]?\d{2,4}){2,5}\b`), "TEL"},
	{regexp.MustCompile(`\b0[1-9](?:[\s.-]?\d{2}){4}\b`), "TEL"},
	{regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b`), "DATE"},
	{regexp.MustCompile(`(?i)\b\d{1,2}(?:er)?\s+(?:janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|décembre|decembre)\s+\d{4}\b`), "DATE"},
	{regexp.MustCompile(`\b(?:0[1-9]|[1-8]\d|9[0-8]|2[ab])\d{3}\b`), "CODE_POSTAL"},
}

// fold lowers case and strips accents, keeping one rune per input rune
// where possible so that positions can be mapped back.
func fold(s string) []rune {
	var out []rune
	for _, r := range s {
		d := norm.NFD.String(string(r))
		var base rune = -1
		for _, x := range d {
			if !unicode.Is(unicode.Mn, x) {
				base = x
				break
			}
		}
		if base == -1 {
			base = r
		}
		out = append(out, unicode.ToLower(base))
	}
	return out
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// variants returns the folded forms of an identifier to search for: the
// value itself, and its words joined by any of space, '-', '^' or nothing
// (handled by the matcher treating separators as equivalent).
func identifierWords(v string) []string {
	f := string(fold(v))
	return strings.FieldsFunc(f, func(r rune) bool { return !isWordRune(r) })
}

// ScrubText replaces the person's own identifiers (accent- and
// case-insensitive, whatever separators) and identifying patterns (NIR,
// phone, email, dates, postal codes) with the generic tokens of SEC-PSE-4.
// It is deterministic.
func ScrubText(s string, p Person) string {
	type id struct {
		words []string
		kind  string
	}
	var ids []id
	for _, x := range p.Identifiers {
		w := identifierWords(x.Value)
		if len(w) == 0 {
			continue
		}
		total := 0
		for _, ww := range w {
			total += len(ww)
		}
		if total < 2 {
			continue
		}
		ids = append(ids, id{w, tokenFor(x.Kind)})
	}
	// Longest identifiers first, so "Marie Claire" wins over "Marie".
	sort.SliceStable(ids, func(i, j int) bool { return len(strings.Join(ids[i].words, "")) > len(strings.Join(ids[j].words, "")) })
	rs := []rune(s)
	fr := fold(s)
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
	out := b.String()
	for _, pt := range textPatterns {
		out = pt.re.ReplaceAllString(out, pt.token)
	}
	return out
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
