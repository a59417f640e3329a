package pipeline_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"testing"

	"hdw/objstore"
	"hdw/objstore/storetest"
	"hdw/pipeline"
	"hdw/warehouse"
)

// warmFiles is an upload of n small images (7,204 bytes each below 10)
// with a row each, and one image larger than a warm start's object limit
// in the tests (64 KiB).
func warmFiles(n int) map[string]string {
	files := map[string]string{}
	var m strings.Builder
	m.WriteString("file,last_name,first_name,birth_date,sex\n")
	for i := range n {
		name := fmt.Sprintf("img%03d.img", i)
		files[name] = "IMG " + strings.Repeat(fmt.Sprintf("pixels of image %d ", i), 400) // 7,204 bytes
		fmt.Fprintf(&m, "%s,Durand,Alice%d,1970-01-02,F\n", name, i)
	}
	files["zz-large.img"] = "IMG " + strings.Repeat("large ", 20_000)
	m.WriteString("zz-large.img,Petit,Paul,1980-05-06,M\n")
	files["manifest.csv"] = m.String()
	return files
}

// storedImages returns the SHA-256 of every stored image after
// decryption, sorted.
func storedImages(t *testing.T, e *env) []string {
	t.Helper()
	cs, err := e.wh.Commits(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range cs {
		for _, o := range c.Objects {
			if strings.HasPrefix(o.Key, "health/images/") {
				out = append(out, imageSum(t, e, c.Batch, o.Store, o.Key))
			}
		}
	}
	slices.Sort(out)
	return out
}

// imageSum is the SHA-256 of a stored image's plaintext.
func imageSum(t *testing.T, e *env, batch, store, key string) string {
	t.Helper()
	dek, err := e.wh.DataKey(e.ctx, batch, store)
	if err == nil {
		var b []byte
		if b, err = warehouse.ReadEncryptedAll(e.ctx, e.wh.St, key, dek, 1<<30); err == nil {
			h := sha256.Sum256(b)
			return hex.EncodeToString(h[:])
		}
	}
	t.Fatal(err)
	return ""
}

// warmRun ingests e's source through a prefetch with the warm start w.
func warmRun(t *testing.T, e *env, src *storetest.Ranged, w pipeline.WarmStart) (*pipeline.Summary, *pipeline.Prefetch) {
	t.Helper()
	pre := pipeline.StartPrefetch(e.ctx, pipeline.Options{Source: src, Warm: w})
	t.Cleanup(pre.Close)
	sum, err := e.run(t, func(o *pipeline.Options) { o.Source, o.Prefetched = src, pre })
	if err != nil {
		t.Fatal(err)
	}
	return sum, pre
}

// TestIssue24_WarmStartIngestsTheSame (issue 24 item 6): a run whose first
// objects were downloaded during the fixed costs ingests exactly what a
// run without a warm start does (same counts, same image bytes after
// decryption), reads the warmed objects from memory (no second request),
// reports them, and never holds more than the warm start's budget; every
// buffer is released at the end.
func TestIssue24_WarmStartIngestsTheSame(t *testing.T) {
	files := warmFiles(12)
	cold := newEnv(t, files)
	coldSum, _ := warmRun(t, cold, &storetest.Ranged{Store: cold.src}, pipeline.WarmStart{Bytes: -1})

	e := newEnv(t, files)
	e.keys.secrets = cold.keys.secrets // the same pseudonyms: the same image bytes
	src := &storetest.Ranged{Store: e.src}
	w := pipeline.WarmStart{Bytes: 40 << 10, Object: 64 << 10, GETs: 3}
	sum, pre := warmRun(t, e, src, w)
	if sum.Seen != coldSum.Seen || sum.Ingested != coldSum.Ingested || sum.Quarantined != coldSum.Quarantined || sum.Rejected != coldSum.Rejected || sum.Images != coldSum.Images || sum.Ingested != 13 {
		t.Fatalf("warm %+v\ncold %+v", sum, coldSum)
	}
	if got, want := storedImages(t, e), storedImages(t, cold); !slices.Equal(got, want) || len(got) != 13 {
		t.Fatalf("stored images differ: warm %d, cold %d", len(got), len(want))
	}
	// 7,204 bytes an image: 5 fit in 40 KiB; the large one is never warmed.
	if sum.WarmObjects != 5 || sum.WarmBytes <= 0 || sum.WarmBytes > w.Bytes || coldSum.WarmObjects != 0 {
		t.Fatalf("warm start: %d objects, %d bytes (cold run: %d)", sum.WarmObjects, sum.WarmBytes, coldSum.WarmObjects)
	}
	req, open, _, whole := src.Counts()
	if req != 5 || open != 0 || whole != 13-5+1 { // the manifest and the images not warmed are opened whole
		t.Fatalf("%d range requests, %d bodies open, %d whole opens", req, open, whole)
	}
	held, peak := pipeline.WarmHeld(pre)
	if held != 0 || peak > w.Bytes || peak == 0 {
		t.Fatalf("warm start holds %d bytes after the run, at most %d (budget %d)", held, peak, w.Bytes)
	}
}

// staleListing lists one object with an ETag its store no longer has: an
// object replaced after the listing (its warm GET, If-Match, fails).
type staleListing struct {
	objstore.Store
	objstore.RangeGetter
	key string
}

func (s staleListing) List(ctx context.Context, prefix string) iter.Seq2[objstore.Info, error] {
	return func(yield func(objstore.Info, error) bool) {
		for info, err := range s.Store.List(ctx, prefix) {
			if info.Key == s.key {
				info.ETag = strings.Repeat("0", len(info.ETag))
			}
			if !yield(info, err) {
				return
			}
		}
	}
}

// TestIssue24_WarmStartFaultsReadNormally: a warm download refused, cut
// mid-body or of an object changed since the listing (If-Match: 412) is no
// error: that object is read from the source as if it had not been warmed,
// and the run ingests every image, exactly as a run without warm start.
func TestIssue24_WarmStartFaultsReadNormally(t *testing.T) {
	files := warmFiles(6)
	cold := newEnv(t, files)
	coldSum, _ := warmRun(t, cold, &storetest.Ranged{Store: cold.src}, pipeline.WarmStart{Bytes: -1})
	e := newEnv(t, files)
	e.keys.secrets = cold.keys.secrets
	rg := &storetest.Ranged{Store: e.src, Fault: func(key string, _, _ int64) string {
		switch key {
		case "img000.img":
			return "refuse"
		case "img001.img":
			return "cut"
		}
		return ""
	}}
	src := staleListing{Store: rg, RangeGetter: rg, key: "img002.img"}
	pre := pipeline.StartPrefetch(e.ctx, pipeline.Options{Source: src, Warm: pipeline.WarmStart{Object: 64 << 10}})
	defer pre.Close()
	sum, err := e.run(t, func(o *pipeline.Options) { o.Source, o.Prefetched = src, pre })
	if err != nil {
		t.Fatal(err)
	}
	if sum.Ingested != 7 || sum.Quarantined != 0 || sum.WarmObjects != 3 {
		t.Fatalf("summary %+v", sum)
	}
	if got, want := storedImages(t, e), storedImages(t, cold); !slices.Equal(got, want) || coldSum.Ingested != 7 {
		t.Fatal("the images stored differ from a run without warm start")
	}
	if held, _ := pipeline.WarmHeld(pre); held != 0 {
		t.Fatalf("%d bytes still held", held)
	}
	if _, open, _, _ := rg.Counts(); open != 0 {
		t.Fatalf("%d range bodies left open", open)
	}
}

// TestIssue24_WarmStartClosedUntaken: a prefetch closed without a run
// (its session failed to open) stops its warm downloads and releases
// every buffer and response body; a run whose keys fail after a warm
// start writes nothing.
func TestIssue24_WarmStartClosedUntaken(t *testing.T) {
	e := newEnv(t, warmFiles(8))
	rg := &storetest.Ranged{Store: e.src}
	pre := pipeline.StartPrefetch(e.ctx, pipeline.Options{Source: rg, Warm: pipeline.WarmStart{Object: 64 << 10, GETs: 2}})
	pre.Took() // listed: the warm start is under way
	e.keys.fail = true
	if _, err := e.run(t, func(o *pipeline.Options) { o.Source, o.Prefetched = rg, pre }); err == nil {
		t.Fatal("a run without its keys went on")
	}
	pipeline.WarmWait(pre)
	if held, _ := pipeline.WarmHeld(pre); held == 0 {
		t.Fatal("nothing warmed before Close: the test shows nothing")
	}
	pre.Close()
	pre.Close()
	if held, _ := pipeline.WarmHeld(pre); held != 0 {
		t.Fatalf("%d bytes still held after Close", held)
	}
	if _, open, _, _ := rg.Counts(); open != 0 {
		t.Fatalf("%d range bodies left open after Close", open)
	}
	if n := storetest.Count(t, e.wh.St, "health/"); n != 0 {
		t.Fatalf("%d objects written by a run that failed to open its session", n)
	}
}

// TestIssue24_WarmStartFollowsTheManifest: the warm start downloads the
// files of the manifest's first rows (the order in which the run takes
// them), not the first keys of the listing.
func TestIssue24_WarmStartFollowsTheManifest(t *testing.T) {
	files := warmFiles(6)
	var m strings.Builder
	m.WriteString("file,last_name,first_name,birth_date,sex\n")
	for i := 5; i >= 0; i-- { // the last keys first
		fmt.Fprintf(&m, "img%03d.img,Durand,Alice%d,1970-01-02,F\n", i, i)
	}
	files["manifest.csv"] = m.String()
	e := newEnv(t, files)
	var mu sync.Mutex
	var got []string
	src := &storetest.Ranged{Store: e.src, Fault: func(key string, _, _ int64) string {
		mu.Lock()
		got = append(got, key)
		mu.Unlock()
		return ""
	}}
	sum, _ := warmRun(t, e, src, pipeline.WarmStart{Bytes: 15 << 10, GETs: 1})
	if want := []string{"img005.img", "img004.img"}; !slices.Equal(got, want) || sum.WarmObjects != 2 {
		t.Fatalf("warmed %q (%d read from memory), want %q", got, sum.WarmObjects, want)
	}
	if sum.Ingested != 6 || sum.Quarantined != 1 { // the large image has no row here
		t.Fatalf("summary %+v", sum)
	}
}

// TestIssue24_WarmStartCountBounded: besides its bytes, a warm start holds
// at most WarmStart.Count objects (small objects cannot make it hold an
// entry each for megabytes of budget).
func TestIssue24_WarmStartCountBounded(t *testing.T) {
	e := newEnv(t, warmFiles(6))
	src := &storetest.Ranged{Store: e.src}
	sum, _ := warmRun(t, e, src, pipeline.WarmStart{Object: 64 << 10, Count: 2})
	if req, _, _, _ := src.Counts(); req != 2 || sum.WarmObjects != 2 || sum.Ingested != 7 {
		t.Fatalf("%d warm GETs, %d objects read from memory, summary %+v", req, sum.WarmObjects, sum)
	}
}
