package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// hdwBinary is the binary buildBinary built, once per test run.
var hdwBinary string

// buildBinary builds hdw (once) for the tests that run the real binary.
func buildBinary(t *testing.T) string {
	t.Helper()
	if hdwBinary != "" {
		return hdwBinary
	}
	dir, err := os.MkdirTemp("", "hdw-bin")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "hdw")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("build hdw: %v", err)
	}
	hdwBinary = bin
	return bin
}

// initedBinary builds hdw, runs `hdw init` with the binary on warehouse (a
// folder or an s3:// URL) as the ingest profile, credentials in a temporary
// folder, and returns the maker of the binary's commands in that
// environment.
func initedBinary(t *testing.T, warehouse string) func(args ...string) *exec.Cmd {
	t.Helper()
	bin := buildBinary(t)
	env := append(os.Environ(), "HDW_WAREHOUSE="+warehouse, "HDW_CREDENTIALS="+filepath.Join(t.TempDir(), "creds"), "HDW_PROFILE=ingest")
	hdw := func(args ...string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		return cmd
	}
	if out, err := hdw("init").CombinedOutput(); err != nil {
		t.Fatalf("init: %v\n%s", err, out)
	}
	return hdw
}
