package main

import (
	"fmt"
	"os"
	"runtime/trace"
)

// startTrace writes a Go execution trace of the whole command to path when
// it is non-empty (HDW_TRACE=trace.out hdw ingest ..., then go tool trace):
// where the workers wait (the source, the disk, the queues) when the cores
// are not busy (issue 24). Like the profiles, a trace holds code locations,
// goroutines and timings, never data values.
func startTrace(path string) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err == nil {
		err = trace.Start(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "hdw: HDW_TRACE: cannot write the trace (%v)\n", err)
		if f != nil {
			f.Close()
		}
		return func() {}
	}
	return func() {
		trace.Stop()
		f.Close()
	}
}
