package dcm

import (
	"strings"
	"testing"

	"hdw/masking/dcm/internal/annexe"
)

// TestResolveSameAsSplit: resolve, which reads the combined codes in place,
// picks the action the earlier version picked after splitting them on "/",
// for every code of the table and a few malformed ones, every attribute
// type and both SR flags.
func TestResolveSameAsSplit(t *testing.T) {
	codes := []annexe.Code{"", "X", "Z", "D", "U", "C", "K", "/", "X/", "/D", "X//D", "Z/U", "U/X", "XD/Z", "K/C"}
	rows, wild := annexe.All()
	for _, r := range rows {
		codes = append(codes, r.Basic)
	}
	for _, w := range wild {
		codes = append(codes, w.Row.Basic)
	}
	tags := []uint32{0, 0x00080023, 0x00080033, 0x00080080, 0x00180010, 0x00181000}
	for tg := range knownType {
		tags = append(tags, tg)
	}
	for _, c := range codes {
		for _, tg := range tags {
			for _, sr := range []bool{false, true} {
				if got, want := resolve(c, tg, sr), resolveSplit(c, tg, sr); got != want {
					t.Errorf("resolve(%q, %08X, %v) = %c, split version %c", c, tg, sr, got, want)
				}
			}
		}
	}
}

// resolveSplit is resolve as it was, splitting the codes.
func resolveSplit(code annexe.Code, t uint32, sr bool) byte {
	parts := strings.Split(string(code), "/")
	if len(parts) == 1 {
		if code == "" {
			return 'X'
		}
		return code[0]
	}
	has := func(c byte) bool {
		for _, p := range parts {
			if p != "" && p[0] == c {
				return true
			}
		}
		return false
	}
	return pick(has, t, sr)
}
