package export

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Rule generalizes one column.
type Rule struct {
	Column string  `json:"column"`
	Kind   string  `json:"kind"` // age-band, date-month, date-quarter, date-year, postcode-department, postcode-region, bin, keep, drop
	Width  float64 `json:"width,omitempty"`
}

// ParseRule parses "column:kind[:width]".
func ParseRule(s string) (Rule, error) {
	p := strings.Split(s, ":")
	if len(p) < 2 || len(p) > 3 || p[0] == "" {
		return Rule{}, fmt.Errorf("rule %q: want column:kind[:width]", s)
	}
	r := Rule{Column: p[0], Kind: p[1]}
	switch r.Kind {
	case "age-band", "bin":
		r.Width = 10
		if len(p) == 3 {
			w, err := strconv.ParseFloat(p[2], 64)
			if err != nil || w <= 0 || w > 1e9 {
				return Rule{}, fmt.Errorf("rule %q: width must be a positive number", s)
			}
			r.Width = w
		}
	case "date-month", "date-quarter", "date-year", "postcode-department", "postcode-region", "keep", "drop":
		if len(p) == 3 {
			return Rule{}, fmt.Errorf("rule %q: %s takes no width", s, r.Kind)
		}
	default:
		return Rule{}, fmt.Errorf("rule %q: unknown kind %q", s, r.Kind)
	}
	return r, nil
}

// Apply generalizes one value. ref is the reference date (age bands).
func (r Rule) Apply(v string, ref time.Time) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	switch r.Kind {
	case "age-band":
		y, err := strconv.Atoi(v[:min(4, len(v))])
		if err != nil {
			return "*"
		}
		age := ref.Year() - y
		w := int(r.Width)
		lo := age / w * w
		if lo >= 90 {
			return "90+"
		}
		return fmt.Sprintf("%d-%d", lo, lo+w-1)
	case "date-month":
		return head(v, 7)
	case "date-quarter":
		if len(v) >= 7 {
			m, _ := strconv.Atoi(v[5:7])
			return fmt.Sprintf("%s-Q%d", v[:4], (m+2)/3)
		}
		return "*"
	case "date-year":
		return head(v, 4)
	case "postcode-department":
		if len(v) >= 2 {
			if strings.HasPrefix(v, "97") && len(v) >= 3 {
				return v[:3]
			}
			return v[:2]
		}
		return "*"
	case "postcode-region":
		return region(v)
	case "bin":
		f, err := strconv.ParseFloat(strings.Replace(v, ",", ".", 1), 64)
		if err != nil {
			return "*"
		}
		lo := math.Floor(f/r.Width) * r.Width
		return fmt.Sprintf("[%g,%g)", lo, lo+r.Width)
	case "drop":
		return ""
	}
	return v
}

// head returns the first n bytes of v, "*" when v is shorter.
func head(v string, n int) string {
	if len(v) >= n {
		return v[:n]
	}
	return "*"
}

// region maps a department (or postal code) to a coarse zone (first digit;
// overseas and Corsica apart).
func region(v string) string {
	switch {
	case strings.HasPrefix(v, "97"), strings.HasPrefix(v, "98"):
		return "outre-mer"
	case strings.HasPrefix(v, "2A"), strings.HasPrefix(v, "2B"), strings.HasPrefix(v, "20"):
		return "corse"
	case len(v) >= 1:
		return "zone-" + v[:1]
	}
	return "*"
}
