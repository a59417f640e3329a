package pipeline_test

import (
	"fmt"
	"strings"
	"testing"

	"hdw/masking/maskingtest"
	"hdw/pipeline"
)

// BenchmarkIngestLocal ingests 200 files of 256 KiB from a local folder
// (fake de-identifier and keys: measures the pipeline, stores and
// encryption; make bench).
func BenchmarkIngestLocal(b *testing.B) {
	files := map[string]string{}
	var m strings.Builder
	m.WriteString("file,last_name,first_name,birth_date,sex,notes\n")
	payload := "IMG" + strings.Repeat("x", 256<<10)
	for i := 0; i < 200; i++ {
		name := fmt.Sprintf("f%03d.img", i)
		files[name] = payload
		fmt.Fprintf(&m, "%s,Name%d,First,1960-01-01,M,note %d\n", name, i, i)
	}
	files["manifest.csv"] = m.String()
	b.SetBytes(int64(200 * len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		e := newEnv(b, files)
		b.StartTimer()
		sum, err := pipeline.Ingest(e.ctx, e.wh, e.keys, maskingtest.Deidentifier{}, pipeline.Options{Source: e.src, SourceID: "b", Workers: 4, ScrubText: maskingtest.Scrub})
		if err != nil || sum.Ingested != 200 {
			b.Fatal(err, sum)
		}
	}
}
