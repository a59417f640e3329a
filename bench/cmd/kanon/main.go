// Command kanon measures the export gate at scale (issue 6): -gen N writes
// an N-row table with 8 quasi-identifiers to a Parquet file; -check runs
// export.Check over it, streaming, and prints rows/s and the peak RSS.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"hdw/export"
	"hdw/warehouse"
)

var qis = []string{"birth_year", "sex_code", "department", "visit_year", "modality", "body_site", "weight_band", "height_band"}

func main() {
	file := flag.String("file", "kanon.parquet", "Parquet file")
	gen := flag.Int("gen", 0, "generate N rows")
	check := flag.Bool("check", false, "run the checks")
	k := flag.Int("k", 5, "k")
	limit := flag.Int64("memlimit", 768, "Go soft memory limit in MiB (0: none), as hdw's export command sets it")
	flag.Parse()
	if *limit > 0 {
		debug.SetMemoryLimit(*limit << 20)
	}
	if *gen > 0 {
		f, err := os.Create(*file)
		if err != nil {
			panic(err)
		}
		cols := append([]string{"pseudonym", "diagnosis"}, qis...)
		tw := warehouse.NewTableWriter(f, cols)
		r := rand.New(rand.NewPCG(1, 2))
		sites := []string{"chest", "knee", "head", "abdomen"}
		mods := []string{"CT", "MR", "US", "CR"}
		vals := make([]string, len(cols))
		for i := 0; i < *gen; i++ {
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
			if err := tw.Write(vals); err != nil {
				panic(err)
			}
		}
		if err := tw.Close(); err != nil {
			panic(err)
		}
		f.Close()
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
		start := time.Now()
		rep, err := export.Check(context.Background(), src, export.Request{QuasiIdentifiers: qis, Sensitive: []string{"diagnosis"},
			PersonColumn: "pseudonym", K: *k, L: 2, Rules: []export.Rule{{Column: "birth_year", Kind: "age-band", Width: 20}, {Column: "department", Kind: "postcode-region"}}})
		if err != nil {
			panic(err)
		}
		sec := time.Since(start).Seconds()
		fmt.Printf("rows=%d classes=%d smallest=%d classes_below_k=%d pass=%v seconds=%.2f rows_per_s=%.0f peak_rss_mib=%d\n",
			rep.Rows, rep.Classes, rep.SmallestClass, rep.ClassesBelowK, rep.Pass, sec, float64(rep.Rows)/sec, peakRSS()/1024)
	}
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

type stop struct{}

func (stop) Error() string { return "stop" }

var errStop error = stop{}

// peakRSS returns VmHWM in KiB.
func peakRSS() int {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			n, _ := strconv.Atoi(strings.Fields(l)[1])
			return n
		}
	}
	return 0
}
