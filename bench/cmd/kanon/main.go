// Command kanon measures the export gate at scale (issues 6 and 17): -gen N
// writes an N-row typed table (package tables: INT64 years and bands,
// dictionary-encoded codes) with 8 quasi-identifiers to a Parquet file;
// -count runs the out-of-core grouped counter (tables.Counter: k in
// persons and l over the diagnosis) over it; -check runs export.Check
// (the gate over the string view). Each prints the time and the peak RSS.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"hdw/bench/cmd/internal/benchrun"
	"hdw/export"
	"hdw/tables"
	"hdw/warehouse"
)

var qis = []string{"birth_year", "sex_code", "department", "visit_year", "modality", "body_site", "weight_band", "height_band"}

func schema() *tables.Schema {
	s, _ := tables.NewSchema(tables.Field{Name: "pseudonym"}, tables.Field{Name: "diagnosis", Type: tables.Enum},
		tables.Field{Name: "birth_year", Type: tables.Int}, tables.Field{Name: "sex_code", Type: tables.Enum},
		tables.Field{Name: "department"}, tables.Field{Name: "visit_year", Type: tables.Int},
		tables.Field{Name: "modality", Type: tables.Enum}, tables.Field{Name: "body_site", Type: tables.Enum},
		tables.Field{Name: "weight_band", Type: tables.Int}, tables.Field{Name: "height_band", Type: tables.Int})
	return s
}

func main() {
	file := flag.String("file", "kanon.parquet", "Parquet file")
	gen := flag.Int("gen", 0, "generate N rows")
	check := flag.Bool("check", false, "run export.Check (the gate over the string view)")
	typed = flag.Bool("typed", false, "with -check: give the gate the file's typed record batches (export.RecordSource)")
	count := flag.Bool("count", false, "run the typed out-of-core counter (tables.Counter)")
	stream := flag.Int("stream", 0, "with -count: count N rows generated as typed record batches in memory (the rows -gen writes), no file")
	budget := flag.Int64("budget", 256, "the counter's memory budget in MiB (spills beyond)")
	parallel := flag.Bool("parallel", true, "decode columns concurrently")
	k := flag.Int("k", 5, "k")
	limit := flag.Int64("memlimit", 768, "Go soft memory limit in MiB (0: none), as hdw's export command sets it")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile")
	flag.Parse()
	stop, err := benchrun.CPUProfile(*cpuprofile)
	if err != nil {
		panic(err)
	}
	defer stop()
	if *limit > 0 {
		debug.SetMemoryLimit(*limit << 20)
	}
	if *gen > 0 {
		generate(*file, *gen)
	}
	if *count {
		feed := func(fn func(arrow.Record) error) error {
			if *stream > 0 {
				return synthetic(*stream, fn)
			}
			f, err := os.Open(*file)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = tables.Records(context.Background(), f, tables.Query{Columns: append([]string{"pseudonym", "diagnosis"}, qis...),
				BatchRows: 64 << 10, Parallel: *parallel}, fn)
			return err
		}
		start := time.Now()
		c, err := tables.NewCounter(tables.CounterOptions{Keys: []tables.KeySpec{
			{Column: "birth_year", Int: func(y int64) int64 { return (2026 - y) / 20 }}, {Column: "sex_code"},
			{Column: "department", Prefix: 1}, {Column: "visit_year"}, {Column: "modality"}, {Column: "body_site"},
			{Column: "weight_band"}, {Column: "height_band"}}, Person: "pseudonym", Sensitive: []string{"diagnosis"}, Budget: *budget << 20})
		if err != nil {
			panic(err)
		}
		if err := feed(c.Add); err != nil {
			panic(err)
		}
		var l2 int64
		sum, err := c.Result(int64(*k), func(cl tables.Class) error {
			if cl.Distinct[0] < 2 {
				l2++
			}
			return nil
		})
		if err != nil {
			panic(err)
		}
		c.Close()
		sec := time.Since(start).Seconds()
		fmt.Printf("rows=%d classes=%d smallest=%d below_k=%d below_l2=%d seconds=%.2f rows_per_s=%.0f peak_rss_mib=%d cpu_s=%.2f spilled_mib=%d\n",
			sum.Rows, sum.Classes, sum.Smallest, sum.BelowK, l2, sec, float64(sum.Rows)/sec, benchrun.PeakRSS()/1024, benchrun.CPUSeconds(), sum.Spilled>>20)
	}
	if *check {
		f, err := os.Open(*file)
		if err != nil {
			panic(err)
		}
		fi, _ := f.Stat()
		src := fileSource{f: f, size: fi.Size()}
		cols, _ := warehouse.ReadTableAt(f, fi.Size(), func(map[string]string) error { return errStop })
		src.cols = cols
		var gsrc export.RowSource = src
		if *typed {
			gsrc = typedSource{src}
		}
		start := time.Now()
		rep, err := export.Check(context.Background(), gsrc, export.Request{QuasiIdentifiers: qis, Sensitive: []string{"diagnosis"},
			PersonColumn: "pseudonym", K: *k, L: 2, Rules: []export.Rule{{Column: "birth_year", Kind: "age-band", Width: 20}, {Column: "department", Kind: "postcode-region"}}})
		if err != nil {
			panic(err)
		}
		sec := time.Since(start).Seconds()
		fmt.Printf("rows=%d classes=%d smallest=%d classes_below_k=%d pass=%v seconds=%.2f rows_per_s=%.0f peak_rss_mib=%d cpu_s=%.2f\n",
			rep.Rows, rep.Classes, rep.SmallestClass, rep.ClassesBelowK, rep.Pass, sec, float64(rep.Rows)/sec, benchrun.PeakRSS()/1024, benchrun.CPUSeconds())
	}
}

func generate(file string, n int) {
	f, err := os.Create(file)
	if err != nil {
		panic(err)
	}
	tw, err := tables.NewWriter(f, schema(), tables.WriterOptions{})
	if err != nil {
		panic(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	sites := []string{"chest", "knee", "head", "abdomen"}
	mods := []string{"CT", "MR", "US", "CR"}
	vals := make([]string, 10)
	for i := 0; i < n; i++ {
		vals[0] = strconv.Itoa(i / 2)
		vals[1] = []string{"C50", "I10", "E11", "J45", "M17"}[r.IntN(5)]
		vals[2] = strconv.Itoa(1930 + r.IntN(80))
		vals[3] = []string{"M", "F"}[r.IntN(2)]
		vals[4] = fmt.Sprintf("%02d", 1+r.IntN(95))
		vals[5] = strconv.Itoa(2015 + r.IntN(10))
		vals[6] = mods[r.IntN(4)]
		vals[7] = sites[r.IntN(4)]
		vals[8] = strconv.Itoa(40 + 10*r.IntN(6))
		vals[9] = strconv.Itoa(150 + 10*r.IntN(5))
		if err := tw.Append(vals); err != nil {
			panic(err)
		}
	}
	if err := tw.Close(); err != nil {
		panic(err)
	}
	f.Close()
}

// synthetic streams the n rows generate writes, as typed record batches
// of 64K rows built in memory: the counter at a scale whose Parquet file
// would take longer to write than to count.
func synthetic(n int, fn func(arrow.Record) error) error {
	as := schema().Arrow()
	b := array.NewRecordBuilder(memory.DefaultAllocator, as)
	defer b.Release()
	r := rand.New(rand.NewPCG(1, 2))
	sites := []string{"chest", "knee", "head", "abdomen"}
	mods := []string{"CT", "MR", "US", "CR"}
	diags := []string{"C50", "I10", "E11", "J45", "M17"}
	sexes := []string{"M", "F"}
	deps := make([]string, 96)
	for i := range deps {
		deps[i] = fmt.Sprintf("%02d", i)
	}
	str := func(j int, v string) {
		switch f := b.Field(j).(type) {
		case *array.StringBuilder:
			f.Append(v)
		case *array.BinaryDictionaryBuilder:
			f.AppendString(v)
		}
	}
	for i := 0; i < n; i++ {
		str(0, strconv.Itoa(i/2))
		str(1, diags[r.IntN(5)])
		b.Field(2).(*array.Int64Builder).Append(int64(1930 + r.IntN(80)))
		str(3, sexes[r.IntN(2)])
		str(4, deps[1+r.IntN(95)])
		b.Field(5).(*array.Int64Builder).Append(int64(2015 + r.IntN(10)))
		str(6, mods[r.IntN(4)])
		str(7, sites[r.IntN(4)])
		b.Field(8).(*array.Int64Builder).Append(int64(40 + 10*r.IntN(6)))
		b.Field(9).(*array.Int64Builder).Append(int64(150 + 10*r.IntN(5)))
		if (i+1)%(64<<10) == 0 || i == n-1 {
			rec := b.NewRecord()
			err := fn(rec)
			rec.Release()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

type fileSource struct {
	f    *os.File
	size int64
	cols []string
}

func (s fileSource) Columns() []string { return s.cols }
func (s fileSource) Rows(ctx context.Context, fn func(map[string]string) error) error {
	_, err := warehouse.ReadTableAt(s.f, s.size, fn)
	return err
}

var typed *bool

// typedSource gives the gate the file's typed record batches.
type typedSource struct{ fileSource }

func (s typedSource) Records(ctx context.Context, cols []string, fn func(arrow.Record) error) error {
	// A section reader: the Parquet reader closes a source that is an
	// io.Closer, and the gate reads the file twice (suppression).
	_, err := tables.Records(ctx, io.NewSectionReader(s.f, 0, s.size), tables.Query{Columns: cols, BatchRows: 64 << 10, Parallel: true}, fn)
	return err
}

type stop struct{}

func (stop) Error() string { return "stop" }

var errStop error = stop{}
