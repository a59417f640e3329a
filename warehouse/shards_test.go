package warehouse_test

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"hdw/keys"
	"hdw/keys/keystest"
	"hdw/masking"
	"hdw/objstore"
	"hdw/objstore/s3store/s3test"
	"hdw/pipeline"
	"hdw/warehouse"
)

// shardStores are the warehouses the shard test runs on: a local folder,
// and a prefix of the real S3 server that make test starts (required under
// HDW_DISALLOW_SKIP=1).
func shardStores(t *testing.T) map[string]func() objstore.Store {
	t.Helper()
	out := map[string]func() objstore.Store{
		"local": func() objstore.Store {
			st, err := objstore.NewLocal(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
	}
	c, ok := s3test.Available(t)
	if !ok {
		t.Log("no S3 server (make test starts one): local folder only")
		return out
	}
	out["s3"] = func() objstore.Store { return s3test.Fresh(t, c, "shards-test") }
	return out
}

// TestShardsUnionEqualsOneRun (issue 9): n shard runs of the same upload,
// started at once against the same warehouse as the pods of a Kubernetes
// Indexed Job would be, each commit their own batch (no collision), ingest
// disjoint parts that cover the upload, and leave the warehouse with the
// same content as one run: sources, images (pseudonym and hash of the
// clean bytes), health rows, and no stray object. On S3 too.
func TestShardsUnionEqualsOneRun(t *testing.T) {
	for name, newStore := range shardStores(t) {
		t.Run(name, func(t *testing.T) {
			vault := keystest.NewFakeVault()
			src := crashSource(t)
			now := time.Now()
			ctx := context.Background()
			newWH := func() objstore.Store {
				st := newStore()
				if err := warehouse.Create(ctx, st, warehouse.Descriptor{ID: "shards", KeyProvider: "local"}); err != nil {
					t.Fatal(err)
				}
				return st
			}
			run := func(st objstore.Store, shard, shards int) (*pipeline.Summary, error) {
				k := keystest.NewFake(keys.ProfileIngest, vault)
				wh, err := warehouse.Open(ctx, st, k)
				if err != nil {
					return nil, err
				}
				return pipeline.Ingest(ctx, wh, k, echoDeid{}, pipeline.Options{
					Source: src, SourceID: "shards-test", Workers: 2, Profile: keys.ProfileIngest,
					Shard: shard, Shards: shards,
					ScrubText: func(s string, _ masking.Person) string { return s },
					Now:       func() time.Time { return now },
				})
			}

			one := newWH()
			if sum, err := run(one, 0, 1); err != nil || sum.Ingested != crashImages {
				t.Fatalf("single run: %v %+v", err, sum)
			}

			const n = 3
			sharded := newWH()
			sums := make([]*pipeline.Summary, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() { sums[i], errs[i] = run(sharded, i, n) })
			}
			wg.Wait()
			var total int64
			batches := map[string]bool{}
			for i := range n {
				if errs[i] != nil {
					t.Fatalf("shard %d: %v", i, errs[i])
				}
				if sums[i].Ingested == 0 || sums[i].Ingested == crashImages {
					t.Errorf("shard %d ingested %d of %d: not a partition", i, sums[i].Ingested, crashImages)
				}
				total += sums[i].Ingested
				batches[sums[i].Batch] = true
			}
			if total != crashImages || len(batches) != n {
				t.Fatalf("shards ingested %d in %d batches, want %d in %d", total, len(batches), crashImages, n)
			}

			a, b := contentOfStore(t, one, vault), contentOfStore(t, sharded, vault)
			if len(a.strays) != 0 || len(b.strays) != 0 {
				t.Fatalf("stray objects: one run %v, shards %v", a.strays, b.strays)
			}
			if a.ingested != b.ingested || !reflect.DeepEqual(a.sources, b.sources) || !reflect.DeepEqual(a.images, b.images) || !reflect.DeepEqual(a.rows, b.rows) {
				t.Fatalf("shards differ from one run:\n one: %d ingested, %d sources, %d images, %d rows\n shards: %d ingested, %d sources, %d images, %d rows",
					a.ingested, len(a.sources), len(a.images), len(a.rows), b.ingested, len(b.sources), len(b.images), len(b.rows))
			}
			// A rerun of any shard, or of the whole, adds nothing.
			if sum, err := run(sharded, 0, 1); err != nil || sum.Ingested != 0 {
				t.Fatalf("rerun after the shards: %v %+v", err, sum)
			}
		})
	}
}
