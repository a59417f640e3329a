// Command dpbench times hdw's differentially private indicators (package
// indicators) on a generated Parquet file, for bench/indicators-duckdb.sh:
// -gen N writes N rows (5 visits per person, typed columns) with the table
// layer (-base32: pseudonyms as package pseudo makes them); -run reads the
// file back with projection and computes a count per department and
// modality (per-person bounds: 5 groups, 5 rows each), and prints rows,
// groups released, seconds and peak RSS.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/base32"
	"flag"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow/go/v17/arrow"

	"hdw/bench/cmd/internal/benchrun"
	"hdw/configs"
	"hdw/indicators"
	"hdw/keys"
	"hdw/tables"
)

func main() {
	file := flag.String("file", "dp.parquet", "Parquet file")
	gen := flag.Int("gen", 0, "generate N rows")
	run := flag.Bool("run", false, "compute the indicator")
	cpu := flag.String("cpuprofile", "", "write a CPU profile of -run here")
	tr := flag.String("trace", "", "write an execution trace of -run here (go tool trace)")
	mem := flag.String("memprofile", "", "write an allocation profile of -run here (go tool pprof -sample_index=alloc_space)")
	strs = flag.Bool("strings", false, "read the string view (indicators.Rows) instead of typed record batches")
	b32 = flag.Bool("base32", false, "-gen: pseudonyms of 32 base32 characters, as package pseudo makes them (default P<n>)")
	flag.Parse()
	stopCPU := func() {}
	if stop, err := benchrun.CPUProfile(*cpu); err == nil {
		stopCPU = stop
	}
	defer stopCPU()
	if *tr != "" {
		tf, err := os.Create(*tr)
		if err == nil && trace.Start(tf) == nil {
			defer trace.Stop()
		}
	}
	if *gen > 0 {
		if err := generate(*file, *gen); err != nil {
			fmt.Fprintln(os.Stderr, "dpbench:", err)
			os.Exit(1)
		}
	}
	if *run {
		if err := compute(*file); err != nil {
			fmt.Fprintln(os.Stderr, "dpbench:", err)
			stopCPU()
			os.Exit(1)
		}
		if *mem != "" {
			if mf, err := os.Create(*mem); err == nil {
				pprof.Lookup("allocs").WriteTo(mf, 0)
				mf.Close()
			}
		}
	}
}

var strs, b32 *bool

var mods = []string{"CT", "MR", "US", "CR"}

func generate(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	s, err := tables.NewSchema(tables.Field{Name: "pseudonym", Type: tables.String}, tables.Field{Name: "department", Type: tables.Enum},
		tables.Field{Name: "modality", Type: tables.Enum}, tables.Field{Name: "birth_year", Type: tables.Int},
		tables.Field{Name: "weight_kg", Type: tables.Float})
	if err != nil {
		return err
	}
	w, err := tables.NewWriter(struct{ *os.File }{f}, s, tables.WriterOptions{})
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(1, 2))
	vals := make([]string, 5)
	for i := range n {
		p := i / 5
		vals[0] = "P" + strconv.Itoa(p)
		if *b32 {
			vals[0] = pseudonym(p)
		}
		vals[1] = fmt.Sprintf("%02d", 1+p%95)
		vals[2] = mods[r.IntN(4)]
		vals[3] = strconv.Itoa(1930 + p%80)
		vals[4] = strconv.Itoa(40 + r.IntN(80))
		if err := w.Append(vals); err != nil {
			return err
		}
	}
	return w.Close()
}

// pseudonym is person p's synthetic pseudonym in package pseudo's form:
// 32 lower-case base32 characters of a keyed hash (here SHA-256 of p).
func pseudonym(p int) string {
	h := sha256.Sum256(strconv.AppendInt(nil, int64(p), 10))
	return strings.ToLower(base32.StdEncoding.EncodeToString(h[:20]))
}

type fileRows struct{ f *os.File }

func (r fileRows) Scan(ctx context.Context, cols []string, fn func(string, []string) error) error {
	vals := make([]string, len(cols))
	_, err := tables.Scan(ctx, r.f, tables.Query{Columns: append([]string{"pseudonym"}, cols...), Key: keys.Secret{}}, func(row *tables.Row) error {
		for i, c := range cols {
			vals[i] = row.Get(c)
		}
		return fn(row.Get("pseudonym"), vals)
	})
	return err
}

// Records streams the typed record batches (indicators.RecordRows), the
// projected columns decoded concurrently.
func (r fileRows) Records(ctx context.Context, cols []string, fn func(arrow.Record) error) error {
	_, err := tables.Records(ctx, r.f, tables.Query{Columns: append([]string{"pseudonym"}, cols...), Parallel: true}, fn)
	return err
}

// HashedRecords streams the batches with the persons hashed as they are
// decoded (indicators.HashedRecordRows).
func (r fileRows) HashedRecords(ctx context.Context, cols []string, seed maphash.Seed, fn func(arrow.Record) error) error {
	_, err := tables.RecordsHashed(ctx, r.f, tables.Query{Columns: append([]string{"pseudonym"}, cols...), Parallel: true}, "pseudonym", seed, fn)
	return err
}

// stringRows hides Records: Compute reads the string view (-strings).
type stringRows struct{ indicators.Rows }

func compute(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	p, err := indicators.Compile(indicators.Definition{Name: "bench", Measure: indicators.Count,
		GroupBy: []string{"department", "modality"}, MaxGroupsPerPerson: 5, MaxRowsPerGroup: 5}, configs.DefaultDictionary())
	if err != nil {
		return err
	}
	start := time.Now()
	var rows indicators.Rows = fileRows{f}
	if *strs {
		rows = stringRows{rows}
	}
	res, st, err := indicators.Compute(context.Background(), p, rows, nil)
	if err != nil {
		return err
	}
	sec := time.Since(start).Seconds()
	fmt.Printf("rows=%d persons=%d groups=%d released=%d seconds=%.2f rows_per_s=%.0f peak_rss_mib=%d cpu_s=%.2f\n",
		st.Rows, st.Persons, st.GroupsSeen, len(res.Values), sec, float64(st.Rows)/sec, benchrun.PeakRSS()/1024, benchrun.CPUSeconds())
	return nil
}
