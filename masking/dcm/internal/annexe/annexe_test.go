package annexe

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestLookup(t *testing.T) {
	cases := []struct {
		g, e  uint16
		basic Code
		ok    bool
	}{
		{0x0010, 0x0010, "Z", true},
		{0x0008, 0x0018, "U", true},
		{0x0008, 0x0080, "X/Z/D", true},
		{0x0008, 0x1140, "X/Z/U*", true},
		{0x6002, 0x3000, "X", true},
		{0x5010, 0x0100, "X", true},
		{0x0029, 0x1001, "X", true},
		{0x0028, 0x0010, "", false},
	}
	for _, c := range cases {
		r, ok := Lookup(c.g, c.e)
		if ok != c.ok || r.Basic != c.basic {
			t.Errorf("(%04X,%04X): %q %v", c.g, c.e, r.Basic, ok)
		}
	}
	rows, wild := All()
	if len(rows)+len(wild) != Rows || Edition != "2024b" {
		t.Errorf("%d rows + %d wildcards, want %d", len(rows), len(wild), Rows)
	}
}

// TestGeneratedUpToDate regenerates the table from the shared reference
// JSON and compares it with the committed table.go.
func TestGeneratedUpToDate(t *testing.T) {
	in := os.Getenv("HDW_ANNEXE_JSON")
	if in == "" {
		in = "../../../../../shared/reference/dicom/confidentiality_profile_attributes.json"
	}
	if _, err := os.Stat(in); err != nil {
		t.Skip("reference JSON not present; the committed table is used as is")
	}
	out := filepath.Join(t.TempDir(), "table.go")
	cmd := exec.Command("go", "run", "./gen", "-in", in, "-out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen: %v\n%s", err, b)
	}
	got, _ := os.ReadFile(out)
	want, _ := os.ReadFile("table.go")
	if !bytes.Equal(got, want) {
		t.Error("table.go is stale: run go generate ./masking/dcm/internal/annexe")
	}
}

// TestIssue19_LookupRefLikeLookup: LookupRef finds the row Lookup copies,
// for every listed tag, wildcard rows and unlisted tags.
func TestIssue19_LookupRefLikeLookup(t *testing.T) {
	rows, _ := All()
	type groupElement struct{ g, e uint16 }
	tags := []groupElement{{0x5000, 0x2500}, {0x6002, 0x3000}, {0x6000, 0x4000}, {0x0029, 0x1001}, {0x0028, 0x0010}, {0x7FE0, 0x0010}, {0xFFFF, 0xFFFF}}
	for _, r := range rows {
		tags = append(tags, groupElement{r.Group, r.Element})
	}
	for _, x := range tags {
		want, ok := Lookup(x.g, x.e)
		got, gotOK := LookupRef(x.g, x.e)
		if ok != gotOK || ok && *got != want {
			t.Fatalf("(%04X,%04X): LookupRef %v %v, Lookup %v %v", x.g, x.e, got, gotOK, want, ok)
		}
	}
}
