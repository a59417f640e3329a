package keys_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"hdw/keys"
)

// FuzzSEC_HAB_3_Authorization: an accepted enrolment decision holds 1 to
// 200 characters and no control character (it goes into the keyring and
// the audit trail), and an admin's always names the line manager.
func FuzzSEC_HAB_3_Authorization(f *testing.F) {
	for _, s := range []string{"CSE-2026-014", "", "a\nb", strings.Repeat("x", 201), "\x7f", "décision n° 3"} {
		f.Add(s, "head of IT", true)
		f.Add(s, "", false)
	}
	f.Fuzz(func(t *testing.T, decision, manager string, admin bool) {
		role := keys.Profile(keys.ProfileCurator)
		if admin {
			role = keys.Profile(keys.ProfileAdmin)
		}
		if (keys.Authorization{Decision: decision, Manager: manager}).Check(role) != nil {
			return
		}
		if decision == "" || utf8.RuneCountInString(decision) > 200 || strings.ContainsFunc(decision+manager, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			t.Fatalf("accepted %q / %q", decision, manager)
		}
		if admin && manager == "" {
			t.Fatal("an admin enrolment without the line manager accepted")
		}
	})
}
