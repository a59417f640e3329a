package pipeline_test

import (
	"context"
	"strings"
	"testing"

	"hdw/masking/maskingtest"
	"hdw/pipeline"
)

// healthImages returns the image keys of the health tables, with the
// number of records naming each.
func healthImages(t *testing.T, e *env) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, line := range strings.Split(string(readStore(t, e, "health/records/")), "\n") {
		if v, ok := strings.CutPrefix(line, "image_key="); ok && v != "" {
			out[v]++
		}
	}
	return out
}

// eachImageOnce checks that the health tables name want images, each in
// one record, and returns them.
func eachImageOnce(t *testing.T, e *env, want int) map[string]int {
	t.Helper()
	images := healthImages(t, e)
	if len(images) != want {
		t.Errorf("%d images in the health tables, want %d", len(images), want)
	}
	for k, n := range images {
		if n != 1 {
			t.Errorf("image %s recorded %d times", k, n)
		}
	}
	return images
}

// TestIngestBatches: a run larger than Options.BatchItems commits several
// batches, one after the other, each with its own commit record; the
// summary still accounts for every input, and a rerun skips them all.
func TestIngestBatches(t *testing.T) {
	e := newEnv(t, manyRows(250))
	sum, err := e.run(t, func(o *pipeline.Options) { o.BatchItems = 100 })
	if err != nil {
		t.Fatal(err)
	}
	if sum.Seen != 250 || sum.Ingested != 250 || sum.Images != 250 || len(sum.Batches) != 3 || sum.Batch != sum.Batches[0] {
		t.Fatalf("summary %+v, want 250 ingested in 3 batches", sum)
	}
	cs, err := e.wh.Commits(e.ctx)
	if err != nil || len(cs) != 3 {
		t.Fatalf("%d commit records (%v), want 3", len(cs), err)
	}
	var seen int64
	for _, c := range cs {
		seen += c.Counts["seen"]
		if c.Counts["seen"] > 100 {
			t.Errorf("batch %s holds %d items, want <= 100", c.Batch, c.Counts["seen"])
		}
	}
	if seen != 250 {
		t.Errorf("commit records account for %d items, want 250", seen)
	}
	eachImageOnce(t, e, 250)
	sum, err = e.run(t, func(o *pipeline.Options) { o.BatchItems = 100 })
	if err != nil || sum.Skipped != 250 || sum.Seen != 0 || len(sum.Batches) != 0 {
		t.Fatalf("rerun: %v %+v, want all 250 skipped", err, sum)
	}
}

// cancelAfter is a Progress that cancels the run after n items.
type cancelAfter struct {
	n, got int
	cancel func()
}

func (c *cancelAfter) Start(int, int64) {}
func (c *cancelAfter) Done()            {}
func (c *cancelAfter) Advance(k int, _ int64) {
	if c.got += k; c.got == c.n {
		c.cancel()
	}
}

// TestIngestInterruptedKeepsBatches: an interrupted run keeps the batches
// it committed and removes the one in progress; the rerun ingests only the
// rest, and the warehouse then holds every row once (resumable runs).
func TestIngestInterruptedKeepsBatches(t *testing.T) {
	e := newEnv(t, manyRows(250))
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	opt := pipeline.Options{Source: e.src, SourceID: "test", Workers: 3, ScrubText: maskingtest.Scrub, Profile: "ingest",
		BatchItems: 100, Progress: &cancelAfter{n: 150, cancel: cancel}}
	sum, err := pipeline.Ingest(ctx, e.wh, e.keys, maskingtest.Deidentifier{}, opt)
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("err = %v, want interrupted", err)
	}
	if len(sum.Batches) != 1 || !sum.Committed {
		t.Fatalf("interrupted run: %+v, want the first batch committed", sum)
	}
	cs, _ := e.wh.Commits(e.ctx)
	if len(cs) != 1 || cs[0].Counts["ingested"] != 100 {
		t.Fatalf("%d commits after the interruption, want 1 of 100 items", len(cs))
	}
	sum, err = e.run(t, func(o *pipeline.Options) { o.BatchItems = 100 })
	if err != nil || sum.Skipped != 100 || sum.Ingested != 150 {
		t.Fatalf("rerun: %v %+v, want 100 skipped and 150 ingested", err, sum)
	}
	images := eachImageOnce(t, e, 250)
	// Nothing of the interrupted batch is left.
	for info, err := range e.wh.St.List(e.ctx, "health/images/") {
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := images[info.Key]; !ok {
			t.Errorf("stray image %s left by the interrupted batch", info.Key)
		}
	}
}
