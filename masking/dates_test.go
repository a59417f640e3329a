package masking_test

import (
	"testing"
	"time"

	"hdw/masking"
)

// TestShiftDate checks the one date policy's shift on the manifest's ISO
// form and on DICOM DA/DT values: the same number of days in both, so an
// image and its record agree (issue 19 item 6).
func TestShiftDate(t *testing.T) {
	for _, c := range []struct {
		in   string
		days int
		want string
		ok   bool
	}{
		{"2019-06-12", -37, "2019-05-06", true},
		{"20190612", -37, "20190506", true},
		{"20190612101500.5+0100", -37, "20190506101500.5+0100", true},
		{"2020-03-01", -1, "2020-02-29", true},
		{"12/06/2019", -37, "", false},
		{"2019-13-40", -1, "", false},
		{"", -1, "", false},
	} {
		got, ok := masking.ShiftDate(c.in, c.days)
		if got != c.want || ok != c.ok {
			t.Errorf("ShiftDate(%q, %d) = %q, %v; want %q, %v", c.in, c.days, got, ok, c.want, c.ok)
		}
	}
}

// shiftDASlow is ShiftDate's general path for an eight-digit DA value.
func shiftDASlow(s string, days int) (string, bool) {
	t, err := time.Parse("20060102", s)
	if err != nil {
		return "", false
	}
	return t.AddDate(0, 0, days).Format("20060102"), true
}

// FuzzShiftDAMatchesParse: the DA fast path gives what time.Parse, AddDate
// and Format give, for any eight bytes and shift (issue 19: dates shifted
// as before, faster).
func FuzzShiftDAMatchesParse(f *testing.F) {
	for _, s := range []string{"20240229", "19000228", "00010101", "99991231", "20231301", "20230230", "2023-1-1", "00000101"} {
		f.Add(s, 365)
		f.Add(s, -40000)
	}
	f.Fuzz(func(t *testing.T, s string, days int) {
		if len(s) != 8 {
			return
		}
		days %= 1_000_000
		want, wok := shiftDASlow(s, days)
		got, ok := masking.ShiftDate(s, days)
		if ok != wok || got != want {
			t.Fatalf("ShiftDate(%q, %d) = %q, %v; time.Parse path %q, %v", s, days, got, ok, want, wok)
		}
	})
}
