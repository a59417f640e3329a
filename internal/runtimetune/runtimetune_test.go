package runtimetune

import (
	"runtime/debug"
	"testing"
)

// restore puts the runtime's settings back after a test.
func restore(t *testing.T) {
	t.Helper()
	limit := debug.SetMemoryLimit(-1)
	pct := debug.SetGCPercent(-1)
	debug.SetGCPercent(pct)
	t.Cleanup(func() {
		debug.SetMemoryLimit(limit)
		debug.SetGCPercent(pct)
	})
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// TestIngestSetsLimitAndPercent (issue 9, issue 19): an ingest runs with
// the soft memory limit and the collector's target of this package.
func TestIngestSetsLimitAndPercent(t *testing.T) {
	restore(t)
	debug.SetMemoryLimit(1 << 40)
	debug.SetGCPercent(100)
	Ingest(env(nil))
	if got := debug.SetMemoryLimit(-1); got != IngestMemoryLimit {
		t.Errorf("memory limit %d, want %d", got, IngestMemoryLimit)
	}
	got := debug.SetGCPercent(100)
	if got != IngestGCPercent {
		t.Errorf("GC percent %d, want %d", got, IngestGCPercent)
	}
}

// TestIngestLeavesOperatorSettings: GOMEMLIMIT and GOGC, which the runtime
// applied at start, are the operator's and win.
func TestIngestLeavesOperatorSettings(t *testing.T) {
	restore(t)
	debug.SetMemoryLimit(1 << 30)
	debug.SetGCPercent(150)
	Ingest(env(map[string]string{"GOMEMLIMIT": "1GiB", "GOGC": "150"}))
	if got := debug.SetMemoryLimit(-1); got != 1<<30 {
		t.Errorf("memory limit %d, want the operator's %d", got, 1<<30)
	}
	if got := debug.SetGCPercent(150); got != 150 {
		t.Errorf("GC percent %d, want the operator's 150", got)
	}
}

// TestMemoryLimit: a command's own limit (the export's) unless GOMEMLIMIT.
func TestMemoryLimit(t *testing.T) {
	restore(t)
	debug.SetMemoryLimit(1 << 40)
	MemoryLimit(env(nil), 768<<20)
	if got := debug.SetMemoryLimit(-1); got != 768<<20 {
		t.Errorf("memory limit %d, want %d", got, 768<<20)
	}
	MemoryLimit(env(map[string]string{"GOMEMLIMIT": "2GiB"}), 1<<20)
	if got := debug.SetMemoryLimit(-1); got != 768<<20 {
		t.Errorf("memory limit changed to %d despite GOMEMLIMIT", got)
	}
}
