package dcm_test

import (
	"bytes"
	"strings"
	"testing"

	"hdw/masking"
	"hdw/synth"
)

// TestSEC_PSE_4_KeyedUIDNeverSpellsAnIdentifier: a keyed UID that happens
// to spell the person's compact birth date (seen once in a demo run: a
// remapped SOP Instance UID holding 19570323, which the residual scan then
// quarantined) is derived again, deterministically: the output holds no
// identifier, the residual scan passes, and every file maps the original
// UID to the same value.
func TestSEC_PSE_4_KeyedUIDNeverSpellsAnIdentifier(t *testing.T) {
	p := masking.Person{Pseudonym: "PSEUDO7Q2X", DateShiftDays: -37,
		Identifiers: []masking.Identifier{{Kind: "BIRTH_DATE", Value: "1957-03-23"}}}
	calls := map[string]int{}
	// Every first derivation spells the birth date; re-derivations do not.
	spelling := func(u string) string {
		calls[u]++
		if strings.Contains(u, "#") {
			return fakeUIDs(u)
		}
		return "2.25.3065716427919570323767586158141455" + strings.Repeat("3", len(u)%3)
	}
	o := opts()
	o.UIDs = spelling
	var outs [][]byte
	for range 2 {
		in := gen(t, synth.DICOMSpec{Marker: "ZORGLUBMARK"})
		out, res, err := run(t, in, p, o)
		if err != nil {
			t.Fatalf("a file whose keyed UIDs spelled the birth date was not cleaned: %v", err)
		}
		if bytes.Contains(out, []byte("19570323")) {
			t.Fatal("the birth date is left in the output")
		}
		if strings.Contains(res.SOPInstanceUID, "19570323") || res.SOPInstanceUID == "" {
			t.Fatalf("SOP instance UID %q", res.SOPInstanceUID)
		}
		outs = append(outs, out)
	}
	if !bytes.Equal(outs[0], outs[1]) {
		t.Fatal("the re-derived UIDs differ between runs of the same file")
	}
	sc := masking.NewScanner(p)
	sc.Write(outs[0])
	if kind, hit := sc.Hit(); hit {
		t.Fatalf("residual scan finds %s", kind)
	}
	if masking.Spells([]byte("2.25.3065716427919570323767"), p) == false {
		t.Fatal("Spells misses a compact birth date inside a UID")
	}
}
