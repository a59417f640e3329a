package pipeline_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"hdw/pipeline"
)

// heapAtEnd is a Progress that measures the live heap when item want is
// accounted for.
type heapAtEnd struct {
	want, n int
	heap    uint64
}

func (h *heapAtEnd) Start(int, int64) {}
func (h *heapAtEnd) Done()            {}
func (h *heapAtEnd) Advance(k int, _ int64) {
	h.n += k
	if h.n == h.want {
		runtime.GC()
		runtime.GC() // sync.Pool caches survive one collection
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		h.heap = ms.HeapAlloc
	}
}

// retainedHeap ingests n images with wide manifest rows in batches of
// batchItems and returns the live heap half-way.
func retainedHeap(t *testing.T, n, batchItems int) uint64 {
	t.Helper()
	files := map[string]string{}
	var m strings.Builder
	m.WriteString("file,last_name,first_name,birth_date,sex,postal_code,notes\n")
	note := strings.Repeat("observation clinique sans particularite ", 10) // 400 bytes
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("d%02d/f%05d.img", i%50, i)
		files[name] = "IMG payload"
		fmt.Fprintf(&m, "%s,Nom%d,Prenom%d,1960-01-%02d,M,75012,%s %d\n", name, i, i, 1+i%28, note, i)
	}
	files["manifest.csv"] = m.String()
	e := newEnv(t, files)
	files = nil
	m.Reset()
	h := &heapAtEnd{want: n / 2}
	sum, err := e.run(t, func(o *pipeline.Options) { o.Progress, o.BatchItems = h, batchItems })
	if err != nil || sum.Ingested != int64(n) {
		t.Fatalf("ingest of %d: %v, %+v", n, err, sum)
	}
	if h.heap == 0 {
		t.Fatal("progress never reached the last item")
	}
	return h.heap
}

// TestIngestMemoryFlat (issue 9: memory does not grow with the number of
// files). Half-way through a run, an ingest holds the rows in flight (the
// manifest is streamed to the workers and each row released once
// processed), bounded row groups, the commit record of the batch in
// progress (at most Options.BatchItems items), and the listing of the
// source, compact: about 170 bytes a listed file (the listing, the
// manifest's duplicate check). Before, the whole manifest, the whole run's
// commit record and row groups of 8,192 records were held: 1,382 bytes a
// file, measured at the end of a run.
func TestIngestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("ingests 12,000 files")
	}
	// Measured at the end of a batch (item 1,000 of 2,000 and 4,000 of
	// 8,000), so that both runs hold one full batch.
	retainedHeap(t, 2000, 1000) // warm-up: the tables' encoders, made once per process, exist from here on
	small := retainedHeap(t, 2000, 1000)
	large := retainedHeap(t, 8000, 1000)
	perFile := (float64(large) - float64(small)) / 6000
	t.Logf("live heap half-way: %d KiB at 2,000 files, %d KiB at 8,000: %.0f bytes per listed file", small>>10, large>>10, perFile)
	if perFile > 250 {
		t.Errorf("the run holds %.0f bytes per listed file, want <= 250 (the listing and the duplicate check)", perFile)
	}
}
