package masking

import "time"

// ShiftDate applies the warehouse's one date policy to a date value
// (issue 19 item 6): the person's keyed shift of days, the same for DICOM
// dates, records' date columns and everything derived from them, so that
// an image and its record stay consistent. It reads ISO dates
// (2006-01-02, the manifest's form, kept in that form), DICOM DA values
// (20060102) and the DICOM DT prefix; ok is false for a value that is not
// a date (the caller then drops it: a date that cannot be shifted is not
// kept exact).
func ShiftDate(s string, days int) (shifted string, ok bool) {
	switch {
	case len(s) == 10 && s[4] == '-' && s[7] == '-':
		t, err := time.Parse("2006-01-02", s)
		if err != nil {
			return "", false
		}
		return t.AddDate(0, 0, days).Format("2006-01-02"), true
	case len(s) >= 8:
		t, err := time.Parse("20060102", s[:8])
		if err != nil {
			return "", false
		}
		for _, c := range s[8:] {
			if (c < '0' || c > '9') && c != '.' && c != '+' && c != '-' {
				return "", false
			}
		}
		return t.AddDate(0, 0, days).Format("20060102") + s[8:], true
	}
	return "", false
}
