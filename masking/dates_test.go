package masking_test

import (
	"testing"

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
