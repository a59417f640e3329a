package configs_test

import (
	"strings"
	"testing"

	"hdw/configs"
)

// TestCNIL_3_2_2_1_Dictionary checks the embedded dictionary is complete and consistent.
func TestCNIL_3_2_2_1_Dictionary(t *testing.T) {
	d := configs.DefaultDictionary()
	for _, name := range []string{"file", "nir", "ppi", "iep", "last_name", "notes", "gene", "physician_rpps", "source_pseudonym"} {
		if _, ok := d.Lookup(strings.ToUpper(name)); !ok {
			t.Errorf("column %s missing", name)
		}
	}
	if c, _ := d.Lookup("ppi"); c.Category != configs.CatIdentifying {
		t.Error("SEC-PSE-1: ppi must be identifying")
	}
	if len(d.QuasiIdentifiers()) == 0 {
		t.Error("no quasi-identifiers")
	}
}

func TestParseConfig(t *testing.T) {
	c, err := configs.Parse(strings.NewReader("ingest:\n  workers: 2\n"))
	if err != nil || c.Ingest.Workers != 2 || c.Export.K != 5 {
		t.Fatalf("%v %+v", err, c.Ingest)
	}
	if _, err := configs.Parse(strings.NewReader("nope: 1\n")); err == nil {
		t.Fatal("unknown key must fail")
	}
	if _, err := configs.Parse(strings.NewReader("retention:\n  audit_months: 24\n")); err == nil || !strings.Contains(err.Error(), "SEC-DAY-4") {
		t.Fatalf("audit retention bound: %v", err)
	}
	if _, err := configs.Parse(strings.NewReader("")); err != nil {
		t.Fatal(err)
	}
	if c, err := configs.Parse(strings.NewReader("ingest:\n  batch_items: 500\n")); err != nil || c.Ingest.BatchItems != 500 {
		t.Fatalf("batch_items: %v %+v", err, c.Ingest)
	}
	if _, err := configs.Parse(strings.NewReader("ingest:\n  batch_items: -1\n")); err == nil || !strings.Contains(err.Error(), "ingest.batch_items") {
		t.Fatalf("negative batch_items: %v", err)
	}
}

func FuzzParseDictionary(f *testing.F) {
	f.Add("version: 1\ncolumns:\n  - {name: a, category: health, type: string}\n")
	f.Fuzz(func(t *testing.T, s string) {
		configs.ParseDictionary(strings.NewReader(s))
	})
}
