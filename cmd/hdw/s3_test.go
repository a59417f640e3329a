package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"hdw/objstore"
	"hdw/objstore/s3store"
	"hdw/objstore/s3store/s3test"
	"hdw/pipeline"
	"hdw/synth"
	"hdw/warehouse"
)

// s3Env returns the test bucket, skipping (or failing under
// HDW_DISALLOW_SKIP=1) when no S3 server was started by make test.
func s3Env(t *testing.T) string {
	t.Helper()
	return s3test.Config(t).Bucket
}

// uploadToS3 writes a synthetic upload under s3://bucket/prefix/.
func uploadToS3(t *testing.T, bucket, prefix string, u *synth.Upload) objstore.Store {
	t.Helper()
	ctx := context.Background()
	cfg := s3store.ConfigFromEnv(os.Getenv)
	cfg.Bucket, cfg.Prefix = bucket, prefix
	s, err := s3store.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range u.Files {
		w, err := s.Create(ctx, f.Name)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Write(w); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// TestS3IngestToS3Warehouse ingests a client prefix into an S3 warehouse
// through aws-sdk-go-v2 against the real server, with --client and
// --purge-source (SEC-ALI-1).
func TestS3IngestToS3Warehouse(t *testing.T) {
	bucket := s3Env(t)
	run := fmt.Sprintf("t%d", time.Now().UnixNano())
	up := demoUpload()
	src := uploadToS3(t, bucket, run+"/ACME/images", up)
	c := newCLI(t)
	c.env["HDW_WAREHOUSE"] = "s3://" + bucket + "/" + run + "/warehouse"
	c.must(0, "init")
	out := c.must(3, "--profile", "ingest", "--json", "ingest", "s3://"+bucket+"/"+run, "--client", "ACME", "--purge-source")
	var sum pipeline.Summary
	decodeJSON(t, out, &sum)
	if int(sum.Ingested) != up.Expect.Ingested || sum.Seen != sum.Ingested+sum.Quarantined+sum.Rejected || sum.Purged == 0 {
		t.Fatalf("summary %+v want %+v", sum, up.Expect)
	}
	n := 0
	for range src.List(context.Background(), "") {
		n++
	}
	if n == len(up.Files) {
		t.Fatal("nothing purged from the transit prefix")
	}
	assertNoLeak(t, "command output", c.out.Bytes(), secrets(up))
}

// TestS3KillAndRerun ingests 1,000 files from the S3 server, kills hdw
// with SIGKILL halfway, reruns, and checks that every record is held
// exactly once and that a second rerun ingests nothing (issue 2).
func TestS3KillAndRerun(t *testing.T) {
	bucket := s3Env(t)
	if testing.Short() {
		t.Skip("long")
	}
	run := fmt.Sprintf("k%d", time.Now().UnixNano())
	// 1,000 files: 250 patients x 4 DICOM files.
	up := synth.NewUpload(synth.UploadSpec{Seed: 99, Patients: 250, DICOMPerPatient: 4})
	uploadToS3(t, bucket, run+"/src", up)
	hdw := initedBinary(t, "s3://"+bucket+"/"+run+"/wh")
	// First run: kill -9 once about half the files are through.
	cmd := hdw("ingest", "s3://"+bucket+"/"+run+"/src", "--workers", "2")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	wh := openS3Warehouse(t, bucket, run+"/wh")
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		n := 0
		for info := range wh.St.List(context.Background(), "health/images/") {
			_ = info
			n++
		}
		if n >= 400 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	// Rerun: the killed batch was never committed; its lease must expire
	// before its objects are swept, so the rerun sees them as not ingested.
	out, err := hdw("--json", "ingest", "s3://"+bucket+"/"+run+"/src", "--workers", "2").Output()
	if err != nil {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
	var sum pipeline.Summary
	if err := json.Unmarshal(out, &sum); err != nil {
		t.Fatal(err, string(out))
	}
	if sum.Ingested+sum.Skipped != 1000 || sum.Seen != sum.Ingested+sum.Quarantined+sum.Rejected {
		t.Fatalf("rerun summary %+v", sum)
	}
	out, err = hdw("--json", "ingest", "s3://"+bucket+"/"+run+"/src").Output()
	if err != nil {
		t.Fatalf("second rerun: %v", err)
	}
	var again pipeline.Summary
	json.Unmarshal(out, &again)
	if again.Ingested != 0 || again.Skipped != 1000 {
		t.Fatalf("second rerun must ingest nothing: %+v", again)
	}
	// Every record exactly once across committed batches.
	cs, err := wh.Commits(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, c := range cs {
		for _, s := range c.Sources {
			seen[s]++
		}
	}
	if len(seen) != 1000 {
		t.Fatalf("%d distinct sources committed, want 1000", len(seen))
	}
	for _, n := range seen {
		if n != 1 {
			t.Fatal("a source is committed twice")
		}
	}
}

func openS3Warehouse(t *testing.T, bucket, prefix string) *warehouse.Warehouse {
	t.Helper()
	cfg := s3store.ConfigFromEnv(os.Getenv)
	cfg.Bucket, cfg.Prefix = bucket, prefix
	s, err := s3store.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &warehouse.Warehouse{St: s}
}
