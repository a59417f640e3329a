package rights_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"runtime"
	"testing"
	"time"

	"hdw/keys"
	"hdw/objstore"
	"hdw/rights"
	"hdw/tables"
	"hdw/warehouse"
)

// liveHeap is the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// heapSampled is the warehouse's folder whose new objects sample the live
// heap every 4 MiB written: what a rewrite holds while it writes.
type heapSampled struct {
	*objstore.Local
	peak uint64
}

func (h *heapSampled) Create(ctx context.Context, key string) (io.WriteCloser, error) {
	w, err := h.Local.Create(ctx, key)
	if err != nil {
		return nil, err
	}
	return &sampledWriter{WriteCloser: w, h: h}, nil
}

type sampledWriter struct {
	io.WriteCloser
	h *heapSampled
	n int
}

func (s *sampledWriter) Write(p []byte) (int, error) {
	if s.n += len(p); s.n >= 4<<20 {
		s.n, s.h.peak = 0, max(s.h.peak, liveHeap())
	}
	return s.WriteCloser.Write(p)
}

// Abort keeps the store's abort of an unpublished object.
func (s *sampledWriter) Abort() { objstore.Abort(s.WriteCloser) }

// TestIssue17_EraseStreamsBoundedHeap: erasing one person from a batch
// whose health table is 40 MiB streams the table through the rewrite verb
// (tables.Rewrite), row group by row group: the live heap while the new
// table is written stays a few MiB, not the table's rows held in memory as
// rights.readTable did; the person's rows are gone and the others stay.
func TestIssue17_EraseStreamsBoundedHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 40 MiB table")
	}
	f := newFixture(t)
	f.demo(t)
	ctx := f.ctx
	commits, err := f.dpoWH.Commits(ctx)
	if err != nil || len(commits) != 1 {
		t.Fatal(commits, err)
	}
	key := warehouse.HealthTableKey(commits[0].Batch)
	dek, err := f.dpoWH.DataKey(ctx, commits[0].Batch, keys.Health)
	if err != nil {
		t.Fatal(err)
	}
	// The batch's health table, its rows and as many again of other
	// persons with incompressible notes, in its own typed layout.
	var rows []map[string]string
	s, err := tables.ScanObject(ctx, f.st, key, dek, tables.Query{}, func(r *tables.Row) error {
		rows = append(rows, r.Map(nil))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	w, err := tables.Create(ctx, f.st, key, dek, tables.Envelope, s)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.AppendMap(r); err != nil {
			t.Fatal(err)
		}
	}
	const others = 200_000
	b := make([]byte, 100)
	other := map[string]string{}
	for range others {
		rand.Read(b)
		other["pseudonym"], other["notes"], other["diagnosis"] = hex.EncodeToString(b[:16]), hex.EncodeToString(b), "J45"
		if err := w.AppendMap(other); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Close(); err != nil {
		t.Fatal(err)
	}
	info, err := f.st.Stat(ctx, key)
	if err != nil || info.Size < 32<<20 {
		t.Fatalf("table of %d bytes (%v): want at least 32 MiB", info.Size, err)
	}
	rows = nil

	hs := &heapSampled{Local: f.st}
	wh, err := warehouse.Open(ctx, hs, f.dpo)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := rights.New(wh, f.dpo, rights.Options{Now: func() time.Time { return f.now }, Operator: "dpo-test"})
	if err != nil {
		t.Fatal(err)
	}
	// What a streaming scan of the table alone holds (the Parquet reader's
	// buffers: 1 MiB per column): the rewrite adds one row group being
	// written to it, never the table's rows.
	base := liveHeap()
	var scanPeak uint64
	n := 0
	if _, err := tables.ScanObject(ctx, f.st, key, dek, tables.Query{}, func(*tables.Row) error {
		if n++; n%25_000 == 0 {
			scanPeak = max(scanPeak, liveHeap())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	scan := int64(scanPeak) - int64(base)
	base = liveHeap()
	proof, err := svc.Erase(ctx, req("REQ-17"), subjNIR(f.A))
	if err != nil {
		t.Fatal(err)
	}
	if !proof.Verified || proof.Counts["records"] != 3 {
		t.Fatalf("proof %+v", proof)
	}
	grown := int64(hs.peak) - int64(base)
	t.Logf("health table %d MiB (%d columns): live heap while scanning +%d MiB, while erasing (rewriting) +%d MiB", info.Size>>20, len(s.Columns()), scan>>20, grown>>20)
	if hs.peak == 0 || grown > scan+16<<20 || grown > info.Size {
		t.Fatalf("the erasure held %d bytes while rewriting a %d-byte table (a scan holds %d)", grown, info.Size, scan)
	}
	n = 0
	if _, err := tables.ScanObject(ctx, f.st, key, dek, tables.Query{Columns: []string{"pseudonym"}}, func(*tables.Row) error { n++; return nil }); err != nil || n != others+2 {
		t.Fatalf("%d rows left (%v), want the %d others and B's and C's", n, err, others)
	}
}
