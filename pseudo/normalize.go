package pseudo

import (
	"errors"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Identity errors. They never contain the value.
var (
	ErrMissingField = errors.New("identity needs the nir, or last name, first name, birth date and sex")
	ErrBirthDate    = errors.New("birth date must be YYYY-MM-DD")
	ErrSex          = errors.New("sex must be M, F or U (also 1, 2, H, male, female)")
)

// Normalize returns the canonical form of a name: accents removed, upper
// case, every run of punctuation and spaces turned into one space, trimmed.
// "Élodie-Marie  d'Arc" -> "ELODIE MARIE D ARC".
func Normalize(s string) string {
	d := norm.NFD.String(s)
	var b strings.Builder
	b.Grow(len(d))
	space := false
	for _, r := range d {
		var up string
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == 'ß':
			// Written without the pending space, as always (the known-answer
			// vectors fix the bases; ß never starts a word).
			b.WriteString("S")
			continue
		case r == 'Œ' || r == 'œ':
			up = "OE"
		case r == 'Æ' || r == 'æ':
			up = "AE"
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			up = strings.ToUpper(string(r))
		default:
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteString(up)
	}
	return b.String()
}

// NormalizeSex maps the accepted sex codes to M, F or U.
func NormalizeSex(s string) (string, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "M", "H", "1", "MALE", "HOMME", "MASCULIN":
		return "M", nil
	case "F", "2", "FEMALE", "FEMME", "FEMININ", "FÉMININ":
		return "F", nil
	case "U", "O", "X", "0", "9", "UNKNOWN", "INCONNU", "OTHER":
		return "U", nil
	}
	return "", ErrSex
}

// ParseDate parses an ISO date YYYY-MM-DD.
func ParseDate(s string) (time.Time, error) {
	t, err := time.Parse("2006-01-02", strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, ErrBirthDate
	}
	return t, nil
}

// Identity holds the fields a pseudonym basis is computed from.
type Identity struct {
	NIR       string
	LastName  string // birth name preferred by the caller when both exist
	FirstName string
	BirthDate string // YYYY-MM-DD
	Sex       string
}

// Basis returns the canonical pseudonym basis of id (see the package doc).
// The NIR is validated; errors never contain the value.
func Basis(id Identity) (string, error) {
	if nir := CleanNIR(id.NIR); nir != "" {
		if err := ValidateNIR(nir); err != nil {
			return "", err
		}
		return "NIR:" + nir, nil
	}
	last, first := Normalize(id.LastName), Normalize(id.FirstName)
	if last == "" || first == "" || strings.TrimSpace(id.BirthDate) == "" || strings.TrimSpace(id.Sex) == "" {
		return "", ErrMissingField
	}
	d, err := ParseDate(id.BirthDate)
	if err != nil {
		return "", err
	}
	sex, err := NormalizeSex(id.Sex)
	if err != nil {
		return "", err
	}
	return "ID:" + last + "|" + first + "|" + d.Format("2006-01-02") + "|" + sex, nil
}
