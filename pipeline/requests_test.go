package pipeline_test

import (
	"context"
	"fmt"
	"io"
	"iter"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"hdw/objstore"
	"hdw/objstore/storetest"
	"hdw/warehouse"
)

// countingStore counts a store's requests by operation.
type countingStore struct {
	objstore.Store
	mu sync.Mutex
	n  map[string]int
}

func (c *countingStore) add(op string) {
	c.mu.Lock()
	c.n[op]++
	c.mu.Unlock()
}

func (c *countingStore) Create(ctx context.Context, k string) (io.WriteCloser, error) {
	c.add("create")
	return c.Store.Create(ctx, k)
}

func (c *countingStore) PutIfAbsent(ctx context.Context, k string, r io.Reader) error {
	c.add("put-if-absent")
	return c.Store.PutIfAbsent(ctx, k, r)
}

func (c *countingStore) Open(ctx context.Context, k string) (io.ReadCloser, error) {
	c.add("open")
	return c.Store.Open(ctx, k)
}

func (c *countingStore) Stat(ctx context.Context, k string) (objstore.Info, error) {
	c.add("stat")
	return c.Store.Stat(ctx, k)
}

func (c *countingStore) List(ctx context.Context, prefix string) iter.Seq2[objstore.Info, error] {
	c.add("list")
	return c.Store.List(ctx, prefix)
}

func (c *countingStore) Delete(ctx context.Context, k string) error {
	c.add("delete")
	return c.Store.Delete(ctx, k)
}

// warehouseRequests ingests n images in one batch into a fresh warehouse
// and counts the warehouse store's requests.
func warehouseRequests(t *testing.T, n int) map[string]int {
	t.Helper()
	files := map[string]string{}
	var m strings.Builder
	m.WriteString("file,last_name,first_name,birth_date,sex\n")
	for i := range n {
		name := fmt.Sprintf("f%04d.img", i)
		files[name] = fmt.Sprintf("IMG payload %d", i)
		fmt.Fprintf(&m, "%s,Nom%d,Prenom%d,1960-01-%02d,M\n", name, i, i, 1+i%28)
	}
	files["manifest.csv"] = m.String()
	e := newEnv(t, files)
	local := storetest.Local(t, filepath.Join(t.TempDir(), "wh"))
	st := &countingStore{Store: local, n: map[string]int{}}
	if err := warehouse.Create(e.ctx, st, warehouse.Descriptor{ID: "test", KeyProvider: "local"}); err != nil {
		t.Fatal(err)
	}
	wh, err := warehouse.Open(e.ctx, st, e.keys)
	if err != nil {
		t.Fatal(err)
	}
	e.wh = wh
	clear(st.n)
	sum, err := e.run(t, nil)
	if err != nil || sum.Ingested != int64(n) || len(sum.Batches) != 1 {
		t.Fatalf("ingest of %d: %v, %+v", n, err, sum)
	}
	return st.n
}

// TestIssue24_OneWarehouseRequestPerImage (issue 24 items 2 and 5): the
// warehouse is written once per image (its object, in one request when
// small), and everything else (lease, wrapped data keys, tables, commit
// record, orphan and commit reads) is per batch or per run: no
// read-after-write round trip, no per-image commit record, key or lookup.
func TestIssue24_OneWarehouseRequestPerImage(t *testing.T) {
	small, large := warehouseRequests(t, 10), warehouseRequests(t, 50)
	t.Logf("warehouse requests for 10 images %v, for 50 %v", small, large)
	for op, n := range large {
		want := small[op]
		if op == "create" {
			want += 40
		}
		if n != want {
			t.Errorf("%s: %d requests for 50 images, %d for 10: want %d (one object per image, the rest per batch)", op, n, small[op], want)
		}
	}
}
