package workspaces_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"hdw/configs"
	"hdw/keys"
	"hdw/pipeline"
	"hdw/tables"
	"hdw/warehouse"
	"hdw/workspaces"
)

// BenchmarkCreate builds a workspace from a generated health table of
// HDW_BENCH_ROWS rows (default 200,000; the figure is for 1M:
// HDW_BENCH_ROWS=1000000 make bench) and reports rows/s and MB/s (of the
// encrypted warehouse table).
func BenchmarkCreate(b *testing.B) {
	n := 200_000
	if v, err := strconv.Atoi(os.Getenv("HDW_BENCH_ROWS")); err == nil && v > 0 {
		n = v
	}
	ctx := context.Background()
	tw := newTestWarehouse(b)
	st, wh, cur, whc := tw.st, tw.ing, tw.cur, tw.whc
	dict := configs.DefaultDictionary()
	deks, _ := wh.NewBatchKeys(ctx, "b1", []string{keys.Health}, false)
	hw, err := tables.Create(ctx, st, warehouse.HealthTableKey("b1"), deks[keys.Health], tables.Envelope, pipeline.HealthSchema(dict))
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i++ {
		hw.AppendMap(map[string]string{"pseudonym": fmt.Sprintf("p%08d", i/3), "record_id": strconv.Itoa(i), "batch": "b1",
			"diagnosis": []string{"C50", "I10", "E11"}[i%3], "birth_year": strconv.Itoa(1930 + i%80), "modality": "CT"})
	}
	if _, err := hw.Close(); err != nil {
		b.Fatal(err)
	}
	wh.WriteCommit(ctx, warehouse.Commit{Batch: "b1", Objects: []warehouse.ObjectRef{{Key: warehouse.HealthTableKey("b1"), Store: keys.Health}}})
	info, err := st.Stat(ctx, warehouse.HealthTableKey("b1"))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(info.Size) // MB/s over the encrypted warehouse table read
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, err := workspaces.Create(ctx, whc, cur, workspaces.Spec{Project: fmt.Sprintf("b%d", i), Approval: "bench",
			Columns: []string{"diagnosis", "birth_year"}, Where: "birth_year < 1980", Dict: dict, Now: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
