package pipeline_test

import (
	"strings"
	"testing"

	"hdw/objstore"
	"hdw/objstore/storetest"
	"hdw/pipeline"
)

// TestIssue24_RangeFaultQuarantinesOnlyItsObject: large source objects are
// read in ranges; one range of one object cut mid-body quarantines that
// object as a source fault (rerun to retry), stores nothing of it, and the
// run goes on: the other large object and the small one are ingested.
func TestIssue24_RangeFaultQuarantinesOnlyItsObject(t *testing.T) {
	big := "IMG" + strings.Repeat("pixel data ", 200_000) // 2.2 MB
	e := newEnv(t, map[string]string{
		"manifest.csv": "file,last_name,first_name,birth_date,sex\n" +
			"one.img,Durand,Alice,1970-01-02,F\n" +
			"two.img,Petit,Paul,1980-05-06,M\n" +
			"three.img,Roux,Eve,1990-01-01,F\n",
		"one.img":   big,
		"two.img":   big + "x",
		"three.img": "IMG small",
	})
	src := &storetest.Ranged{Store: e.src, Fault: func(key string, off, _ int64) string {
		if key == "two.img" && off == 2<<18 {
			return "cut"
		}
		return ""
	}}
	sum, err := e.run(t, func(o *pipeline.Options) {
		o.Source = src
		o.Ranges = objstore.NewRanges(1<<20, 1<<18, 3)
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Ingested != 2 || sum.Quarantined != 1 || sum.Images != 2 || !sum.Committed {
		t.Fatalf("summary %+v", sum)
	}
	if r := sum.Items[0].Reason; !strings.Contains(r, "reading the source failed") || !strings.Contains(r, "rerun") {
		t.Fatalf("reason %q: not a source fault", r)
	}
	if req, open, _, _ := src.Counts(); req < 12 || open != 0 {
		t.Fatalf("%d range requests (9 for the first object, at least 3 for the cut one), %d bodies left open", req, open)
	}
	if images := countImages(t, e); images != 2 {
		t.Fatalf("%d objects under health/images/, want the 2 ingested (nothing of the failed one)", images)
	}
}

// TestIssue24_AdaptiveWorkersIngestTheSame: a run whose worker count
// adapts accounts for every input as a fixed one does.
func TestIssue24_AdaptiveWorkersIngestTheSame(t *testing.T) {
	e := newEnv(t, demoFiles(t))
	sum, err := e.run(t, func(o *pipeline.Options) { o.Workers, o.AdaptWorkers = 6, true })
	if err != nil {
		t.Fatal(err)
	}
	if sum.Seen != 7 || sum.Ingested != 3 || sum.Rejected != 2 || sum.Quarantined != 2 || !sum.Committed {
		t.Fatalf("summary %+v", sum)
	}
}
