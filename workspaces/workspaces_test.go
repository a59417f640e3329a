package workspaces

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"hdw/configs"
	"hdw/keys"
	"hdw/pseudo"
	"hdw/synth"
)

// TestCNIL_3_2_3_1_SEC_ESP_2_CreateRefusals: the checks made before any store
// or key is touched (a nil warehouse and provider prove it).
func TestCNIL_3_2_3_1_SEC_ESP_2_CreateRefusals(t *testing.T) {
	dict := configs.DefaultDictionary()
	ident := dict.ByCategory(configs.CatIdentifying)
	attr := dict.ByCategory(configs.CatAttribute)
	if len(ident) == 0 || len(attr) == 0 {
		t.Fatal("dictionary without identifying or attribute columns")
	}
	tests := []struct {
		name string
		spec Spec
		want error
		text string
	}{
		{"no approval (3.2.3.1)", Spec{Project: "p", Columns: []string{"diagnosis"}}, ErrNoApproval, ""},
		{"blank approval (3.2.3.1)", Spec{Project: "p", Approval: "  ", Columns: []string{"diagnosis"}}, ErrNoApproval, ""},
		{"identifying column (SEC-ESP-2)", Spec{Project: "p", Approval: "CSE-1", Columns: []string{"diagnosis", ident[0]}}, ErrColumn, "identifying"},
		{"attribute column (SEC-ESP-2)", Spec{Project: "p", Approval: "CSE-1", Columns: []string{attr[0]}}, ErrColumn, "attribute"},
		{"unknown column", Spec{Project: "p", Approval: "CSE-1", Columns: []string{"no_such_column"}}, ErrColumn, "dictionary"},
		{"no column", Spec{Project: "p", Approval: "CSE-1"}, ErrColumn, "--columns"},
		{"where on identifying column", Spec{Project: "p", Approval: "CSE-1", Columns: []string{"diagnosis"}, Where: ident[0] + " = 'x'"}, nil, "identifying data: not allowed"},
		{"bad project name", Spec{Project: "../x", Approval: "CSE-1", Columns: []string{"diagnosis"}}, nil, "project"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.Dict = dict
			_, err := Create(context.Background(), nil, nil, tt.spec)
			if err == nil {
				t.Fatal("accepted")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("err = %q lacks %q", err, tt.text)
			}
		})
	}
}

// TestDue_SEC_HAB_5: yearly review and end of access.
func TestDue_SEC_HAB_5(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	ds := []Descriptor{
		{Project: "fresh", Status: "active", Reviewed: now.AddDate(0, -1, 0), Expires: now.AddDate(1, 0, 0)},
		{Project: "yearly", Status: "active", Reviewed: now.AddDate(-1, 0, -1), Expires: now.AddDate(1, 0, 0)},
		{Project: "ended", Status: "active", Reviewed: now, Expires: now.AddDate(0, 0, -1)},
		{Project: "revoked", Status: "revoked", Reviewed: now.AddDate(-3, 0, 0), Expires: now.AddDate(-1, 0, 0)},
	}
	var got []string
	for _, d := range Due(ds, now) {
		got = append(got, d.Project)
	}
	if strings.Join(got, ",") != "yearly,ended" {
		t.Fatalf("due = %v", got)
	}
}

// TestManifestSign_SEC_ESP_1: any changed hash, name or key changes the MAC.
func TestManifestSign_SEC_ESP_1(t *testing.T) {
	k := bytes.Repeat([]byte{7}, 32)
	m := Manifest{Files: map[string]string{"records.parquet": "aa", "images/x": "bb"}}
	base := m.sign(k)
	tests := []struct {
		name string
		mod  func(m *Manifest) []byte
	}{
		{"hash changed", func(m *Manifest) []byte { m.Files["images/x"] = "bc"; return k }},
		{"file added", func(m *Manifest) []byte { m.Files["images/y"] = "cc"; return k }},
		{"file removed", func(m *Manifest) []byte { delete(m.Files, "images/x"); return k }},
		{"other key", func(m *Manifest) []byte { return bytes.Repeat([]byte{8}, 32) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Manifest{Files: map[string]string{}}
			for n, h := range m.Files {
				c.Files[n] = h
			}
			if c.sign(tt.mod(&c)) == base {
				t.Fatal("MAC unchanged")
			}
		})
	}
}

func TestShiftDate(t *testing.T) {
	tests := []struct{ in, want string }{
		{"20260101", "20260111"},
		{"20261225120000.5", "20270104120000.5"},
		{"2026", ""},
		{"notadate", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := shiftDate(tt.in, 10); got != tt.want {
			t.Errorf("shiftDate(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func testDICOM(t testing.TB) []byte {
	var b bytes.Buffer
	if err := synth.DICOM(&b, synth.DICOMSpec{PatientName: "PSEUDO^X", PatientID: "WHPSEUDO", StudyUID: "2.25.111",
		SeriesUID: "2.25.222", SOPUID: "2.25.333", StudyDate: "20200101", Modality: "CT", Rows: 4, Cols: 4}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func keyed(t testing.TB, b byte) *pseudo.Keyed {
	k, err := pseudo.New(keys.NewSecret(bytes.Repeat([]byte{b}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestRekeyDICOM_SEC_ESP_1: warehouse UIDs and pseudonym are replaced, two
// workspace keys give different UIDs, dates move.
func TestRekeyDICOM_SEC_ESP_1(t *testing.T) {
	in := testDICOM(t)
	read := func(k *pseudo.Keyed) (uid, date, name string) {
		var out bytes.Buffer
		if err := rekeyDICOM(&out, in, k, "WSPSEUDO"); err != nil {
			t.Fatal(err)
		}
		for _, old := range []string{"2.25.111", "2.25.222", "2.25.333", "WHPSEUDO", "20200101"} {
			if bytes.Contains(out.Bytes(), []byte(old)) {
				t.Fatal("warehouse value left in the workspace file")
			}
		}
		ds, err := dicom.Parse(bytes.NewReader(out.Bytes()), int64(out.Len()), nil, dicom.SkipPixelData())
		if err != nil {
			t.Fatal(err)
		}
		get := func(tg tag.Tag) string {
			e, err := ds.FindElementByTag(tg)
			if err != nil {
				t.Fatal(err)
			}
			v, _ := e.Value.GetValue().([]string)
			return strings.TrimRight(strings.Join(v, `\`), "\x00 ")
		}
		return get(tag.StudyInstanceUID), get(tag.StudyDate), get(tag.PatientID)
	}
	u1, d1, n1 := read(keyed(t, 1))
	u2, _, _ := read(keyed(t, 2))
	if u1 == u2 || !strings.HasPrefix(u1, "2.25.") {
		t.Fatalf("UIDs %q %q", u1, u2)
	}
	if n1 != "WSPSEUDO" || len(d1) != 8 {
		t.Fatalf("name %q date %q", n1, d1)
	}
}

// FuzzRekeyDICOM: arbitrary bytes never panic and never pass unchanged.
func FuzzRekeyDICOM(f *testing.F) {
	seed := testDICOM(f)
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add([]byte("DICM"))
	k := keyed(f, 3)
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		if err := rekeyDICOM(&out, data, k, "WSPSEUDO"); err != nil && !errors.Is(err, ErrDICOM) {
			t.Fatalf("unexpected error type: %v", err)
		}
	})
}
