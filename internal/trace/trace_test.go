package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestTraceability: docs/TRACEABILITY.md is what `make trace` writes from
// the tree, and every requirement cited in code is named by a test (or is
// a listed pending gap).
func TestTraceability(t *testing.T) {
	root := filepath.Join("..", "..")
	m, err := scan(os.DirFS(root))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range m.problems() {
		t.Error(p)
	}
	old, err := os.ReadFile(filepath.Join(root, out))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(old, m.markdown()) {
		t.Error(out + " is stale: run make trace")
	}
}

func TestSpellings(t *testing.T) {
	got := cited("SEC-EXP-1..3, SEC-HAB-5, -6, SRS-055..057 (CNIL 9.4, 9.7), §3.2.2.1, ENS OP.ACC.1")
	want := "SEC-EXP-1 SEC-EXP-2 SEC-EXP-3 SEC-HAB-5 SEC-HAB-6 SRS-055 SRS-056 SRS-057 ENS OP.ACC.1 CNIL 9.4 CNIL 9.7 CNIL 3.2.2.1"
	if g := join(got); g != want {
		t.Errorf("cited: %s\nwant   %s", g, want)
	}
	if g := join(named("TestSEC_REI_4_SEC_REI_5_Guards_CNIL_3_2_3_1_SRS_091_OP_ACC_1", known())); g != "SEC-REI-4 SEC-REI-5 SRS-091 ENS OP.ACC.1 CNIL 3.2.3.1" {
		t.Error(g)
	}
}

func join(s []string) string {
	var b bytes.Buffer
	for i, x := range s {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(x)
	}
	return b.String()
}
