package pipeline_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"hdw/pipeline"
)

// heapAtEnd is a Progress that measures the live heap when the last item
// is accounted for: what the run holds once every item went through it,
// before the commit record is written.
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

// retainedHeap ingests n images with wide manifest rows and returns the
// live heap at the end of the run.
func retainedHeap(t *testing.T, n int) uint64 {
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
	h := &heapAtEnd{want: n}
	sum, err := e.run(t, func(o *pipeline.Options) { o.Progress = h })
	if err != nil || sum.Ingested != int64(n) {
		t.Fatalf("ingest of %d: %v, %+v", n, err, sum)
	}
	if h.heap == 0 {
		t.Fatal("progress never reached the last item")
	}
	return h.heap
}

// TestIngestMemoryFlat (issue 9: peak memory does not grow with the number
// of files): an ingest holds the rows in flight, not the manifest (rows are
// streamed to the workers and released once processed), and bounded row
// groups, not every record written. What remains per file is what the
// commit record lists (source id, object key, size, SHA-256) and the
// listing. Before the manifest was streamed, the rows held to the end of
// the run and the open row group held up to 8,192 records: about 3 KB per
// file of this manifest.
func TestIngestMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("ingests 10,000 files")
	}
	// Both runs flush row groups (1 MiB of values each), so that the
	// writers' encoders, made once, are in both figures.
	small := retainedHeap(t, 2500)
	large := retainedHeap(t, 7500)
	perFile := (float64(large) - float64(small)) / 5000
	t.Logf("live heap at the end of the run: %d KiB at 2,500 files, %d KiB at 7,500: %.0f bytes per file", small>>10, large>>10, perFile)
	if perFile > 1000 {
		t.Errorf("the run holds %.0f bytes per file (want <= 1,000: only the commit record's entries and the listing)", perFile)
	}
}
