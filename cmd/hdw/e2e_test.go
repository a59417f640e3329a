package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"hdw/keys"
	"hdw/pipeline"
	"hdw/synth"
	"hdw/warehouse"
	"hdw/warehouse/warehousetest"
)

func demoUpload() *synth.Upload {
	return synth.NewUpload(synth.UploadSpec{Seed: 7, Patients: 6, DICOMPerPatient: 2, PhotosPerPatient: 1, BadRows: true})
}

// TestIngestEndToEnd ingests a synthetic upload through the CLI and checks
// the accounting, the exit code, the rerun, and that no identifying string
// reaches the output, the audit trail or the decrypted health store.
func TestIngestEndToEnd(t *testing.T) {
	up := demoUpload()
	c, src := initialized(t, up)
	out := c.must(3, "--profile", "ingest", "--json", "ingest", src)
	var sum pipeline.Summary
	decodeJSON(t, out, &sum)
	if sum.Seen != sum.Ingested+sum.Quarantined+sum.Rejected {
		t.Fatalf("accounting: %+v", sum)
	}
	if int(sum.Seen) != up.Expect.Seen || int(sum.Rejected) != up.Expect.Rejected || int(sum.Quarantined) != up.Expect.Quarantined || int(sum.Ingested) != up.Expect.Ingested {
		t.Fatalf("summary %+v, want %+v", sum, up.Expect)
	}
	// A second rerun ingests nothing.
	out = c.must(3, "--profile", "ingest", "--json", "ingest", src)
	var again pipeline.Summary
	decodeJSON(t, out, &again)
	if again.Ingested != 0 || int(again.Skipped) != up.Expect.Ingested {
		t.Fatalf("rerun: %+v", again)
	}
	sec := secrets(up)
	assertNoLeak(t, "command output", c.out.Bytes(), sec)
	assertNoLeak(t, "audit trail", readPrefix(t, c, "audit/"), sec)
	assertNoLeak(t, "commit records", readPrefix(t, c, "batches/"), sec)
	// Decrypt the whole health store as the curator and scan it.
	wh, _ := c.openAs(keys.ProfileCurator)
	health := decryptPrefix(t, wh, "health/", keys.Health)
	if len(health) == 0 {
		t.Fatal("empty health store")
	}
	assertNoLeak(t, "decrypted health store", health, sec)
}

// TestSEC_LOG_4_IngestCannotDecryptIdentity: the ingest profile's
// credentials cannot decrypt the identity store.
func TestSEC_LOG_4_IngestCannotDecryptIdentity(t *testing.T) {
	c := ingested(t, demoUpload(), 3)
	src := filepath.Join(c.dir, "upload")
	wh, _ := c.openAs(keys.ProfileIngest)
	cs, err := wh.Commits(context.Background())
	if err != nil || len(cs) != 1 {
		t.Fatal(err, len(cs))
	}
	_, err = wh.DataKey(context.Background(), cs[0].Batch, keys.Identity)
	if !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("ingest unwrapping the identity key: got %v, want keys.ErrForbidden", err)
	}
	wh2, _ := c.openAs(keys.ProfileDPO)
	if _, err := wh2.DataKey(context.Background(), cs[0].Batch, keys.Identity); err != nil {
		t.Fatalf("dpo must read the identity store: %v", err)
	}
	// A wrong passphrase is refused.
	c.env["HDW_PASSPHRASE"] = "not the passphrase"
	code, _, errOut := c.run("--profile", "ingest", "ingest", src)
	if code != 1 || !strings.Contains(errOut, "credentials") {
		t.Fatalf("wrong passphrase: exit %d: %s", code, errOut)
	}
}

func TestUsageAndHelp(t *testing.T) {
	c := newCLI(t)
	if code, _, _ := c.run("ingest"); code != 2 {
		t.Fatalf("missing SOURCE: exit %d, want 2", code)
	}
	if code, _, _ := c.run("--nope"); code != 2 {
		t.Fatalf("unknown flag: exit %d, want 2", code)
	}
	_, out, _ := c.run("--help")
	for _, cmd := range []string{"init", "ingest", "demo"} {
		if !strings.Contains(out, cmd) {
			t.Errorf("--help does not list %s", cmd)
		}
	}
	code, _, errOut := c.run("--profile", "ingest", "ingest", filepath.Join(c.dir, "nowhere"))
	if code != 1 || !strings.Contains(errOut, "hdw:") {
		t.Fatalf("missing source: exit %d %q", code, errOut)
	}
}

func readPrefix(t *testing.T, c *cli, prefix string) []byte {
	t.Helper()
	wh, _ := c.openAs(keys.ProfileAdmin)
	var buf bytes.Buffer
	for info, err := range wh.St.List(context.Background(), prefix) {
		if err != nil {
			t.Fatal(err)
		}
		r, err := wh.St.Open(context.Background(), info.Key)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(&buf, r)
		r.Close()
	}
	if prefix == "audit/" {
		buf.Write(auditPlain(t, c)) // SRS-091: the payloads are sealed; admin opens them
	}
	return buf.Bytes()
}

// decryptPrefix decrypts every object under prefix (tables as text) with the batch keys of store.
func decryptPrefix(t *testing.T, wh *warehouse.Warehouse, prefix, store string) []byte {
	t.Helper()
	ctx := context.Background()
	cs, err := wh.Commits(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, c := range cs {
		for _, o := range c.Objects {
			if !strings.HasPrefix(o.Key, prefix) {
				continue
			}
			if err := warehousetest.AppendPlain(ctx, &buf, wh, store, c.Batch, o.Key); err != nil {
				t.Fatal(err)
			}
		}
	}
	return buf.Bytes()
}

// TestIngestBatchItemsCLI: --batch-items splits a run into batches, each
// committed (summary "batches", one commit record each), with the same
// accounting and no leak in the commit records or the audit trail.
func TestIngestBatchItemsCLI(t *testing.T) {
	up := demoUpload()
	c, src := initialized(t, up)
	c.must(2, "--profile", "ingest", "ingest", src, "--batch-items", "-3")
	out := c.must(3, "--profile", "ingest", "--json", "ingest", src, "--batch-items", "4")
	var sum pipeline.Summary
	decodeJSON(t, out, &sum)
	if int(sum.Seen) != up.Expect.Seen || int(sum.Ingested) != up.Expect.Ingested {
		t.Fatalf("summary %+v, want %+v", sum, up.Expect)
	}
	want := (up.Expect.Seen + 3) / 4 // batches of 4 items; one with no ingested item is not committed
	if len(sum.Batches) < 2 || len(sum.Batches) > want || sum.Batch != sum.Batches[0] {
		t.Fatalf("batches %v, want 2 to %d, first = batch", sum.Batches, want)
	}
	wh, _ := c.openAs(keys.ProfileCurator)
	cs, err := wh.Commits(context.Background())
	if err != nil || len(cs) != len(sum.Batches) {
		t.Fatalf("%d commit records (%v), want %d", len(cs), err, len(sum.Batches))
	}
	sec := secrets(up)
	assertNoLeak(t, "commit records", readPrefix(t, c, "batches/"), sec)
	assertNoLeak(t, "audit trail", readPrefix(t, c, "audit/"), sec)
}
