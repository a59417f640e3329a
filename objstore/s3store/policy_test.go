package s3store_test

import (
	"flag"
	"os"
	"testing"

	"hdw/objstore/s3store"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestSP_050_003_ClientPolicyGolden: the SP-050-003 least-privilege policy.
func TestSP_050_003_ClientPolicyGolden(t *testing.T) {
	got, err := s3store.ClientPolicy("uploads", "ACME-Clinic")
	if err != nil {
		t.Fatal(err)
	}
	golden := "testdata/client-policy.golden.json"
	if *update {
		os.WriteFile(golden, append(got, '\n'), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(got)+"\n" {
		t.Fatalf("policy differs from %s:\n%s", golden, got)
	}
	for _, bad := range []string{"", "../x", "..", ".", "-x", "a/b", "a*", "ABC LLC", "a\nb", "x..y"} {
		if _, err := s3store.ClientPolicy("uploads", bad); err == nil {
			t.Errorf("bad client name %q accepted", bad)
		}
		if _, err := s3store.ClientPolicy(bad, "ACME"); err == nil {
			t.Errorf("bad bucket name %q accepted", bad)
		}
	}
}
