package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSEC_DAY_1_FullRunAudit: ingest, workspace, export and rights produce
// their events, none holds an identifying string of the upload, the trail
// verifies, and an edited event is found (SRS-060).
func TestSEC_DAY_1_FullRunAudit(t *testing.T) {
	up := demoUpload()
	c := ingested(t, up, 3)
	c.must(0, "--profile", "curator", "workspace", "create", "p1", "--approval", "CSE-9", "--columns", "diagnosis,gene")
	c.must(0, "--profile", "researcher:p1", "workspace", "pull", "p1", "--out", filepath.Join(c.dir, "pull"))
	if _, err := os.Stat(filepath.Join(c.dir, "pull", "genetic.parquet")); err != nil {
		t.Fatal("SEC-LOG-6: selected genetic columns must reach the workspace")
	}
	c.must(0, "--profile", "curator", "workspace", "create", "p2", "--approval", "CSE-10", "--columns", "diagnosis")
	c.must(0, "--profile", "researcher:p2", "workspace", "pull", "p2", "--out", filepath.Join(c.dir, "pull2"))
	if _, err := os.Stat(filepath.Join(c.dir, "pull2", "genetic.parquet")); err == nil {
		t.Fatal("SEC-LOG-6: genetic data in a workspace that did not select it")
	}
	c.run("--profile", "curator", "export", "request", "p1", "--approval", "CSE-9", "--workspace", "p1", "--quasi", "sex_code", "--sensitive", "diagnosis", "--k", "5")
	p := up.Persons[1]
	c.must(0, "--profile", "dpo", "rights", "find", "--request", "DPO-1", "--nir", p.NIR)
	c.run("--profile", "researcher:p1", "workspace", "pull", "p2", "--out", filepath.Join(c.dir, "x")) // refused
	out := c.must(0, "--profile", "admin", "audit", "verify")
	if !strings.Contains(out, "ok") {
		t.Fatal(out)
	}
	trail := string(readPrefix(t, c, "audit/"))
	for _, a := range []string{"batch.ingest", "workspace.create", "workspace.pull", "export.", "rights.find", "denied"} {
		if !strings.Contains(trail, a) {
			t.Errorf("audit trail lacks %s", a)
		}
	}
	assertNoLeak(t, "audit trail", []byte(trail), append(secrets(up), p.NIR))
	rev := c.must(0, "--profile", "admin", "audit", "review", "--since", "2020-01-01")
	if !strings.Contains(rev, "refused") {
		t.Fatalf("review misses the refused pull:\n%s", rev)
	}
	// Tamper with one event: verify fails and names it.
	var seg string
	filepath.Walk(filepath.Join(c.env["HDW_WAREHOUSE"], "audit", "segments"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && seg == "" && strings.HasSuffix(p, ".jsonl") {
			seg = p
		}
		return nil
	})
	os.Chmod(seg, 0o644)
	b, _ := os.ReadFile(seg)
	i := strings.Index(string(b), `"sealed":"`) + len(`"sealed":"`) + 4 // SRS-091: payloads are sealed
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	os.WriteFile(seg, b, 0o644)
	if code, _, errOut := c.run("--profile", "admin", "audit", "verify"); code != 1 || !strings.Contains(errOut, "audit trail") {
		t.Fatalf("tampered trail: exit %d %s", code, errOut)
	}
}

// TestIssue22_AuditCheckpointWitnessCLI: the admin's checkpoint, kept by a
// witness, makes a deleted tail visible to audit verify (exit 1, naming
// the witnessed checkpoint); no other profile may sign a checkpoint.
func TestIssue22_AuditCheckpointWitnessCLI(t *testing.T) {
	c := newCLI(t)
	c.must(0, "init")
	c.must(0, "--profile", "curator", "audit", "verify")
	if code, _, _ := c.run("--profile", "curator", "audit", "checkpoint"); code != 1 {
		t.Fatalf("a curator signs a checkpoint: exit %d", code)
	}
	note := c.must(0, "--profile", "admin", "audit", "checkpoint")
	if !strings.HasPrefix(note, "hdw-audit/") || !strings.Contains(note, "\n\n\u2014 hdw-audit/") {
		t.Fatalf("checkpoint note:\n%s", note)
	}
	w := filepath.Join(c.dir, "witness.note")
	os.WriteFile(w, []byte(note), 0o600)
	c.must(0, "--profile", "ingest", "audit", "verify", "--witness", w)
	// Truncate: the log's checkpoints, its key and every session go.
	wh := c.env["HDW_WAREHOUSE"]
	filepath.Walk(filepath.Join(wh, "audit"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			os.Chmod(p, 0o600)
			os.Remove(p)
		}
		return nil
	})
	code, _, errOut := c.run("--profile", "ingest", "audit", "verify", "--witness", w)
	if code != 1 || !strings.Contains(errOut, "witness") {
		t.Fatalf("truncated trail against a witness: exit %d %s", code, errOut)
	}
}
