package dcm

import (
	"bytes"
	"regexp"
	"strings"

	"github.com/suyashkumar/dicom"

	"hdw/masking"
)

// keptVerbatim are attributes the table does not name whose values are
// coded vocabulary, not free text: code values and scheme designators of
// every code sequence (concept names, units, modifiers), SR value and
// relationship types, and class (not instance) UIDs. They are kept as they
// are, so that SR trees keep their concept names and units.
var keptVerbatim = map[uint32]bool{
	0x00080100: true, // Code Value
	0x00080102: true, // Coding Scheme Designator
	0x00080103: true, // Coding Scheme Version
	0x00080105: true, // Mapping Resource
	0x00080106: true, // Context Group Version
	0x0008010F: true, // Context Identifier
	0x00080117: true, // Context UID
	0x00080119: true, // Long Code Value
	0x00080120: true, // URN Code Value
	0x0008010C: true, // Coding Scheme UID
	0x00080118: true, // Mapping Resource UID
	0x00080016: true, // SOP Class UID
	0x00081150: true, // Referenced SOP Class UID
	0x0008001A: true, // Related General SOP Class UID
	0x0008001B: true, // Original Specialized SOP Class UID
	0x00041510: true, // Referenced SOP Class UID in File
	0x00020002: true, // Media Storage SOP Class UID
	0x00020010: true, // Transfer Syntax UID
	0x00040130: true, // (unused) reserved for DICOMDIR
	0x00081490: true, // Referenced Transfer Syntax UID
	0x0040A040: true, // Value Type
	0x0040A010: true, // Relationship Type
	0x0040DB00: true, // Template Identifier
	0x0040DB06: true, // Template Version
	0x0040A050: true, // Continuity Of Content
	0x0040A0B0: true, // Referenced Content Item Identifier
	0x00080005: true, // Specific Character Set (rewritten at every level)
}

// maxLen is the maximum value length of the text VRs (PS3.5 6.2).
var maxLen = map[string]int{"AE": 16, "CS": 16, "SH": 16, "LO": 64, "ST": 1024, "LT": 10240, "AS": 4, "IS": 12, "DS": 16}

// honorific finds a title followed by a capitalized word: a person named in
// free text whoever it is (not only the file's patient), e.g. "Dr Martin".
// Titles are matched in their usual case only: "DR" alone is also the
// Digital Radiography modality.
var honorific = regexp.MustCompile(`\b(?:Dr|Pr|Prof|Docteur|DOCTEUR|docteur|Professeur|PROFESSEUR|Mme|MME|Mlle|Mr|Mrs|Ms|Madame|MADAME|Monsieur|MONSIEUR|M)\.?\s+(?:\p{Lu}[\p{L}'-]*\.?\s*){1,2}`)

// scrubText cleans one free-text value: the person's identifiers and the
// identifying patterns of masking's scrubber, then any titled name.
func (d *deid) scrubText(s string) string {
	clean := d.cfg.Clean
	if clean == nil {
		clean = masking.ScrubText
	}
	s = clean(s, d.p)
	if !mayHaveTitle(s) {
		return s
	}
	return honorific.ReplaceAllStringFunc(s, func(m string) string {
		if strings.HasSuffix(m, " ") {
			return "NAME "
		}
		return "NAME"
	})
}

// mayHaveTitle reports whether s may hold a match of honorific: white
// space (\s) after the title, and a title's first letter (D, d, P or M)
// at a word boundary, after the start or a byte that is not an ASCII word
// character (\b is ASCII). Most values have none and skip the regular
// expression.
func mayHaveTitle(s string) bool {
	if !strings.ContainsAny(s, " \t\n\f\r") {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case 'D', 'd', 'P', 'M':
			if i == 0 || !isASCIIWord(s[i-1]) {
				return true
			}
		}
	}
	return false
}

func isASCIIWord(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_'
}

// byVR cleans an attribute Table E.1-1 does not name, by its VR (issue 19
// item 2, SEC-PSE-4), at any depth: person names and application entity
// titles become dummies, dates follow the date option, instance UIDs are
// remapped, free text is scrubbed (replaced by a dummy in a strict
// sequence), numbers and codes that hold an identifier become dummies.
// Binary and numeric values are kept, sequences walked.
func (d *deid) byVR(e *dicom.Element, depth int, strict bool) (*dicom.Element, error) {
	if e.Value == nil {
		return e, nil
	}
	switch e.Value.ValueType() {
	case dicom.Sequences:
		return d.walkSequence(e, depth, strict)
	case dicom.Strings:
	default:
		return e, nil
	}
	t := uint32(e.Tag.Group)<<16 | uint32(e.Tag.Element)
	if keptVerbatim[t] {
		return e, nil
	}
	in := stringsOf(e.Value)
	if allEmpty(in) {
		return e, nil
	}
	v := vr(e)
	switch v {
	case "PN":
		return d.dummy(e), nil
	case "AE":
		return d.withStrings(e, d.one("ANONYMIZED")), nil
	case "UR":
		return d.zero(e), nil
	case "UI":
		for _, u := range in {
			if !strings.HasPrefix(strings.TrimSpace(u), "1.2.840.10008.") {
				return d.remapUIDs(e), nil
			}
		}
		return e, nil // well-known DICOM UIDs (classes, syntaxes, frames of reference of the standard)
	case "DA", "DT":
		switch {
		case d.opts.RetainLongitudinalFullDates:
			return e, nil
		case d.opts.RetainLongitudinalModifiedDates:
			return d.shiftDates(e), nil
		}
		return d.dummy(e), nil
	case "TM":
		if d.opts.RetainLongitudinalFullDates || d.opts.RetainLongitudinalModifiedDates {
			return e, nil // a time of day without its date; the shift is whole days
		}
		return d.dummy(e), nil
	case "LO", "SH", "LT", "ST", "UT", "UC":
		if strict {
			return d.dummy(e), nil
		}
		return d.scrubValues(e, in, v), nil
	case "CS":
		return d.scrubValues(e, in, v), nil
	case "IS", "DS", "AS":
		return d.numbers(e, in), nil
	}
	// Any other string VR (a parser's guess for an unknown tag): scrubbed,
	// and a dummy if that changed it.
	out := d.scrubValues(e, in, v)
	if !sameStrings(out, in) {
		return d.dummy(e), nil
	}
	return out, nil
}

// numbers replaces by 0 each number that holds one of the person's
// numeric identifiers (a birth date, a NIR, a phone number), keeping the
// value multiplicity; text patterns are not applied to numbers (a 5-digit
// coordinate is not a postal code).
func (d *deid) numbers(e *dicom.Element, in []string) *dicom.Element {
	var out []string
	var buf [64]byte // the digits of one value, on the stack when it has few
	for i, s := range in {
		if countDigits(s) < minIDDigits {
			continue // too short to hold one (most numbers: the identifiers' digits are then never made)
		}
		digits := appendDigits(buf[:0], s)
		hit := false
		for _, n := range d.identifierDigits() {
			if bytes.Contains(digits, n) {
				hit = true
				break
			}
		}
		if hit {
			if out == nil {
				out = append([]string(nil), in...)
			}
			out[i] = "0"
		}
	}
	if out == nil {
		return e
	}
	d.scrubbed++
	return d.withStrings(e, out)
}

// identifierDigits returns the digits of the person's identifiers of
// minIDDigits digits or more, computed at the first call.
func (d *deid) identifierDigits() [][]byte {
	if d.idDigits == nil {
		d.idDigits = [][]byte{}
		for _, id := range d.p.Identifiers {
			if n := appendDigits(nil, id.Value); len(n) >= minIDDigits {
				d.idDigits = append(d.idDigits, n)
			}
		}
	}
	return d.idDigits
}

// minIDDigits is the fewest digits of an identifier numbers looks for.
const minIDDigits = 6

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			n++
		}
	}
	return n
}

// appendDigits appends the ASCII digits of s to b.
func appendDigits(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b = append(b, s[i])
		}
	}
	return b
}

// scrubValues scrubs every value of e, bounded by its VR's maximum length
// (a token is longer than the value it replaces).
func (d *deid) scrubValues(e *dicom.Element, in []string, v string) *dicom.Element {
	var out []string // allocated at the first change
	for i, s := range in {
		c := d.scrubText(s)
		if v == "CS" && c != s {
			c = strings.ToUpper(strings.ReplaceAll(c, " ", "_"))
		}
		if n, ok := maxLen[v]; ok && len(c) > n {
			c = truncUTF8(c, n)
		}
		if c != s && out == nil {
			out = append(make([]string, 0, len(in)), in...)
		}
		if out != nil {
			out[i] = c
		}
	}
	if out == nil {
		return e
	}
	d.scrubbed++
	return d.withStrings(e, out)
}

func truncUTF8(s string, n int) string {
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return strings.TrimRight(s[:n], " ")
}

func sameStrings(e *dicom.Element, in []string) bool {
	out := stringsOf(e.Value)
	if len(out) != len(in) {
		return false
	}
	for i := range in {
		if in[i] != out[i] {
			return false
		}
	}
	return true
}

func allEmpty(in []string) bool {
	for _, s := range in {
		if strings.Trim(s, " \x00") != "" {
			return false
		}
	}
	return true
}
