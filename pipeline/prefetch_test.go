package pipeline_test

import (
	"errors"
	"testing"

	"hdw/pipeline"
)

// TestIssue24_PrefetchedPlanIngestsTheSame (issue 24 item 6): a source
// listed and its manifest opened ahead of the run (while the session
// unlocks the keyring) gives the same accounting as a run that lists it
// itself.
func TestIssue24_PrefetchedPlanIngestsTheSame(t *testing.T) {
	own, err := newEnv(t, demoFiles(t)).run(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, demoFiles(t))
	pre := pipeline.StartPrefetch(e.ctx, pipeline.Options{Source: e.src})
	defer pre.Close()
	got, err := e.run(t, func(o *pipeline.Options) { o.Prefetched = pre })
	if err != nil {
		t.Fatal(err)
	}
	if got.Seen != own.Seen || got.Ingested != own.Ingested || got.Quarantined != own.Quarantined || got.Rejected != own.Rejected || got.Images != own.Images {
		t.Fatalf("prefetched %+v, own listing %+v", got, own)
	}
	if pre.Took() <= 0 {
		t.Error("the prefetch's duration is not reported")
	}
}

// TestIssue24_PrefetchErrorsAtIngest: a prefetch's failure (no manifest)
// is the run's error, returned by Ingest, and a prefetch closed without a
// run releases its manifest.
func TestIssue24_PrefetchErrorsAtIngest(t *testing.T) {
	e := newEnv(t, map[string]string{"a.img": "IMG payload"})
	pre := pipeline.StartPrefetch(e.ctx, pipeline.Options{Source: e.src})
	defer pre.Close()
	if _, err := e.run(t, func(o *pipeline.Options) { o.Prefetched = pre }); !errors.Is(err, pipeline.ErrNoManifest) {
		t.Fatalf("got %v, want ErrNoManifest", err)
	}
	e2 := newEnv(t, demoFiles(t))
	unused := pipeline.StartPrefetch(e2.ctx, pipeline.Options{Source: e2.src})
	unused.Close()
	unused.Close()
}
