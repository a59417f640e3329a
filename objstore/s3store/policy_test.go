package s3store_test

import (
	"flag"
	"os"
	"testing"

	"hdw/objstore/s3store"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestClientPolicyGolden: the SP-050-003 least-privilege policy.
func TestClientPolicyGolden(t *testing.T) {
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
	if _, err := s3store.ClientPolicy("uploads", "../x"); err == nil {
		t.Fatal("bad client name accepted")
	}
}
