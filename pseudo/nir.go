package pseudo

import (
	"errors"
	"strconv"
	"strings"
)

// NIR errors. They never contain the value.
var (
	ErrNIRLength = errors.New("nir must have 15 characters (13 + 2-digit key)")
	ErrNIRFormat = errors.New("nir must be digits (department 2A/2B allowed)")
	ErrNIRKey    = errors.New("nir check key does not match (97 - n mod 97)")
)

// CleanNIR removes spaces, dots and dashes and upper-cases the letters.
func CleanNIR(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == ' ' || r == '.' || r == '-' || r == '\t' || r == '\u00a0':
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// NIRKey computes the 2-digit check key of the first 13 characters of a NIR
// (Corsica: 2A counts as 19, 2B as 18).
func NIRKey(first13 string) (int, error) {
	if len(first13) != 13 {
		return 0, ErrNIRLength
	}
	s := first13
	switch s[5:7] {
	case "2A":
		s = s[:5] + "19" + s[7:]
	case "2B":
		s = s[:5] + "18" + s[7:]
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || strings.ContainsAny(s, "+-") {
		return 0, ErrNIRFormat
	}
	return int(97 - n%97), nil
}

// ValidateNIR checks a cleaned NIR: 15 characters, digits (2A/2B in the
// department), first digit 1, 2, 3, 4, 7 or 8, and a matching check key.
func ValidateNIR(nir string) error {
	if len(nir) != 15 {
		return ErrNIRLength
	}
	for i := 0; i < 15; i++ {
		c := nir[i]
		if c >= '0' && c <= '9' {
			continue
		}
		if i == 6 && (c == 'A' || c == 'B') && nir[5] == '2' {
			continue
		}
		return ErrNIRFormat
	}
	switch nir[0] {
	case '1', '2', '3', '4', '7', '8':
	default:
		return ErrNIRFormat
	}
	want, err := NIRKey(nir[:13])
	if err != nil {
		return err
	}
	got, _ := strconv.Atoi(nir[13:])
	if got != want {
		return ErrNIRKey
	}
	return nil
}
