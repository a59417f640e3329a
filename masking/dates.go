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
		if out, ok := shiftDA(s, days); ok {
			return out, true
		}
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

// shiftDA is ShiftDate's path for a DICOM DA value of exactly eight digits
// (nearly every date of a DICOM header) without time.Parse and Format: the
// same result (FuzzShiftDAMatchesParse), ok false for anything else
// (ShiftDate then takes the general path).
func shiftDA(s string, days int) (string, bool) {
	if len(s) != 8 || days < -1_000_000 || days > 1_000_000 {
		return "", false
	}
	var v [8]int
	for i := 0; i < 8; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return "", false
		}
		v[i] = int(c - '0')
	}
	y := v[0]*1000 + v[1]*100 + v[2]*10 + v[3]
	m := v[4]*10 + v[5]
	d := v[6]*10 + v[7]
	if m < 1 || m > 12 || d < 1 || d > daysIn(time.Month(m), y) {
		return "", false
	}
	t := time.Date(y, time.Month(m), d+days, 0, 0, 0, 0, time.UTC)
	ny, nm, nd := t.Date()
	if ny < 0 || ny > 9999 {
		return "", false
	}
	b := [8]byte{byte('0' + ny/1000), byte('0' + ny/100%10), byte('0' + ny/10%10), byte('0' + ny%10),
		byte('0' + int(nm)/10), byte('0' + int(nm)%10), byte('0' + nd/10), byte('0' + nd%10)}
	return string(b[:]), true
}

// daysIn is the number of days of month m in year y (proleptic Gregorian,
// as package time counts them).
func daysIn(m time.Month, y int) int {
	return time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}
