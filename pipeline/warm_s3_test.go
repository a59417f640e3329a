package pipeline_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"hdw/objstore"
	"hdw/objstore/s3store/s3test"
	"hdw/pipeline"
)

// TestIssue24_WarmStartS3: against the real S3 server, a run warmed during
// its fixed costs ingests the same images (same bytes after decryption)
// as a run without warm start; the object whose ETag changed since the
// listing gets 412 from the server on its warm GET (If-Match) and is read
// normally (the 6 others, the large one too, are read from memory);
// nothing stays held.
func TestIssue24_WarmStartS3(t *testing.T) {
	c := s3test.Config(t)
	files := warmFiles(6)
	st := s3test.Fresh(t, c, "warm")
	for k, v := range files {
		if err := objstore.Put(context.Background(), st, k, strings.NewReader(v)); err != nil {
			t.Fatal(err)
		}
	}
	cold := newEnv(t, nil)
	pc := pipeline.StartPrefetch(cold.ctx, pipeline.Options{Source: st, Warm: pipeline.WarmStart{Bytes: -1}})
	defer pc.Close()
	coldSum, err := cold.run(t, func(o *pipeline.Options) { o.Source, o.Prefetched = st, pc })
	if err != nil {
		t.Fatal(err)
	}

	e := newEnv(t, nil)
	e.keys.secrets = cold.keys.secrets
	src := staleListing{Store: st, RangeGetter: st, key: "img003.img"}
	pre := pipeline.StartPrefetch(e.ctx, pipeline.Options{Source: src})
	defer pre.Close()
	sum, err := e.run(t, func(o *pipeline.Options) { o.Source, o.Prefetched = src, pre })
	if err != nil {
		t.Fatal(err)
	}
	if sum.Ingested != 7 || coldSum.Ingested != 7 || sum.Quarantined != 0 || sum.WarmObjects != 6 || coldSum.WarmObjects != 0 {
		t.Fatalf("warm %+v\ncold %+v", sum, coldSum)
	}
	if got, want := storedImages(t, e), storedImages(t, cold); !slices.Equal(got, want) || len(got) != 7 {
		t.Fatalf("stored images differ: warm %d, cold %d", len(got), len(want))
	}
	if held, peak := pipeline.WarmHeld(pre); held != 0 || peak > 16<<20 {
		t.Fatalf("warm start holds %d bytes after the run (at most %d)", held, peak)
	}
}
