package main

import (
	"crypto/sha256"
	"os"
	"path/filepath"
	"runtime/pprof"
	"testing"
	"time"
)

// TestSplitProfile (issue 24): a CPU profile of a SHA-256 loop, written by
// runtime/pprof, is read by the split's own decoder and charged to "hash".
func TestSplitProfile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "cpu.pprof")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Skip("CPU profiling unavailable:", err)
	}
	buf := make([]byte, 1<<20)
	for t0 := time.Now(); time.Since(t0) < 300*time.Millisecond; {
		sha256.Sum256(buf)
	}
	pprof.StopCPUProfile()
	f.Close()
	s, err := splitProfile(file)
	if err != nil {
		t.Fatal(err)
	}
	if s.total == 0 {
		t.Skip("no samples (machine too busy)")
	}
	if s.by["hash"] < s.total/2 {
		t.Errorf("hash %.2f s of %.2f s: %s", s.by["hash"], s.total, s.format())
	}
}

func TestStageOf(t *testing.T) {
	for fn, want := range map[string]string{
		"golang.org/x/crypto/argon2.processBlocks":       "keyring unlock",
		"crypto/internal/fips140/sha256.blockAVX2":       "hash",
		"hdw/masking.(*Scanner).check":                   "residual scan",
		"os.(*File).Write":                               "write",
		"net.(*conn).Read":                               "fetch",
		"github.com/suyashkumar/dicom.(*reader).readTag": "de-identify",
		"runtime.gcBgMarkWorker":                         "GC",
		"hdw/masking/photo.next":                         "faces",
		"hdw/masking/photo.(*Handler).profiles":          "faces",
		"hdw/masking/photo.(*lbpCascade).stagesPassed":   "faces",
		"hdw/masking/photo.barcodes":                     "barcodes",
		"hdw/masking/photo.(*Handler).jpeg":              "de-identify",
		"runtime.memmove":                                "",
	} {
		if got := stageOf(fn); got != want {
			t.Errorf("%s: %q, want %q", fn, got, want)
		}
	}
}
