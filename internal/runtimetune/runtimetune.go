// Package runtimetune owns the Go runtime settings that hdw's batch
// commands run with (the heap's soft limit and the collector's target), in
// one place, so that the bench commands measure the process the ingest
// runs. It imports nothing of hdw.
package runtimetune

import (
	"runtime/debug"
)

// IngestMemoryLimit is the Go heap's soft limit during an ingest (issue 9:
// peak RSS under 2 x the largest file + 256 MiB, whatever the number of
// files). Without it the heap may grow to IngestGCPercent% more than is
// live before a collection; with it, the collector runs sooner (its CPU is
// capped by the runtime, so a live heap above the limit slows the run,
// never stops it).
const IngestMemoryLimit = 200 << 20

// IngestGCPercent is the collector's target during an ingest: a collection
// starts when the heap has grown by this percent of what the last one left
// live. The ingest's live heap is small (a few MiB of dictionaries, caches
// and the files in flight) and each file allocates little, so at Go's
// default of 100 the collector ran every 4 MiB allocated, about every 450
// small DICOM slices, each time for about 1.7 ms of CPU (its workers, write
// barriers, and the runtime's monitor polling every 20 µs while they run):
// issue 19 counted 8 collections in 2,000 slices (GODEBUG=gctrace=1), 1 at
// 400. The heap between collections stays under 5 x the live heap, and
// never above IngestMemoryLimit: the limit, not the percent, bounds memory
// (issue 9).
const IngestGCPercent = 400

// Ingest applies IngestMemoryLimit and IngestGCPercent, each unless the
// operator set its environment variable (GOMEMLIMIT, GOGC), which the Go
// runtime has then applied already.
func Ingest(getenv func(string) string) {
	MemoryLimit(getenv, IngestMemoryLimit)
	if getenv("GOGC") == "" {
		debug.SetGCPercent(IngestGCPercent)
	}
}

// MemoryLimit sets the heap's soft limit to limit bytes unless GOMEMLIMIT
// is set.
func MemoryLimit(getenv func(string) string, limit int64) {
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(limit)
	}
}
