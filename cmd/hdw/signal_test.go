package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"hdw/objstore"
	"hdw/pipeline"
	"hdw/synth"
	"hdw/warehouse"
)

// TestIngestSIGINTThenRerun runs the real binary on a local upload in
// small batches, sends SIGINT once some batches are committed, and checks:
// exit 130, a JSON summary that counts exactly what the commit records
// hold, JSON progress lines on stderr (not a terminal); then a rerun
// ingests the rest, and every source is committed exactly once (nothing
// lost, nothing duplicated). SIGTERM gives 143.
func TestIngestSIGINTThenRerun(t *testing.T) {
	dir := t.TempDir()
	up := synth.NewUpload(synth.UploadSpec{Seed: 23, Patients: 60, DICOMPerPatient: 2})
	src := filepath.Join(dir, "upload")
	writeUpload(t, src, up)
	whDir := filepath.Join(dir, "wh")
	hdw := initedBinary(t, whDir)
	st, _ := objstore.NewLocal(whDir)
	commits := func() (batches int, sources map[string]int, ingested int) {
		sources = map[string]int{}
		for info, err := range st.List(context.Background(), "batches/") {
			if err != nil {
				t.Fatal(err)
			}
			var c warehouse.Commit
			if err := objstore.ReadJSON(context.Background(), st, info.Key, 1<<24, &c); err != nil {
				t.Fatal(err)
			}
			batches++
			ingested += int(c.Counts["ingested"])
			for _, s := range c.Sources {
				sources[s]++
			}
		}
		return
	}
	interrupt := func(sig syscall.Signal, want int) (*pipeline.Summary, string) {
		cmd := hdw("--json", "ingest", src, "--workers", "1", "--batch-items", "5", "--progress", "json", "--progress-interval", "50ms")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		before, _, _ := commits()
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			if n, _, _ := commits(); n >= before+2 {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		cmd.Process.Signal(sig)
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != want {
			t.Fatalf("exit after %v: %v, want %d\n%s", sig, err, want, stderr.String())
		}
		var sum pipeline.Summary
		if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
			t.Fatalf("summary: %v\n%s", err, stdout.String())
		}
		return &sum, stderr.String()
	}
	sum, stderr := interrupt(syscall.SIGINT, 130)
	_, sources, images := commits()
	// The summary counts exactly what is committed.
	for _, n := range sources {
		if n != 1 {
			t.Fatal("a source committed twice")
		}
	}
	if !sum.Committed || int(sum.Ingested) != images || sum.Seen != sum.Ingested+sum.Quarantined+sum.Rejected {
		t.Fatalf("summary after SIGINT %+v, commit records hold %d sources", sum, images)
	}
	lines := 0
	sc := bufio.NewScanner(strings.NewReader(stderr))
	for sc.Scan() {
		var pl progressLine
		if json.Unmarshal(sc.Bytes(), &pl) == nil && pl.Event != "" {
			lines++
		}
	}
	if lines < 2 {
		t.Fatalf("no JSON progress lines on stderr:\n%s", stderr)
	}
	// SIGTERM: 143, same guarantees.
	if sum2, _ := interrupt(syscall.SIGTERM, 143); sum2.Seen != sum2.Ingested+sum2.Quarantined+sum2.Rejected {
		t.Fatalf("summary after SIGTERM %+v", sum2)
	}
	// Rerun to the end: every image exactly once.
	out, err := hdw("--json", "ingest", src, "--batch-items", "5").Output()
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 3 {
			t.Fatalf("rerun: %v\n%s", err, out)
		}
	}
	_, sources, total := commits()
	if total != up.Expect.Ingested {
		t.Fatalf("%d items committed, want %d", total, up.Expect.Ingested)
	}
	for _, n := range sources {
		if n != 1 {
			t.Fatal("a source committed twice")
		}
	}
}
