package audit_test

import (
	"context"
	"testing"

	"hdw/audit"
)

// BenchmarkAppend measures Append: durable (one segment written per event,
// the default) and batched (in memory, written by Flush/Close).
func BenchmarkAppend(b *testing.B) {
	for _, c := range []struct {
		name  string
		batch int
	}{{"durable", 1}, {"batch1000", 1000}} {
		b.Run(c.name, func(b *testing.B) {
			st, _ := newStore(b)
			ctx := context.Background()
			l, err := audit.Open(ctx, st, testMAC, audit.Options{Profile: "ingest", Operator: "LH-SVC-0001", Batch: c.batch})
			if err != nil {
				b.Fatal(err)
			}
			ev := audit.Event{Command: "ingest", Action: "batch.commit", Outcome: "ok",
				Target: map[string]string{"batch": "20261122T101010Z-ab12"}, Counts: map[string]int64{"records": 1000}}
			b.SetBytes(250) // about one event line
			b.ReportAllocs()
			for b.Loop() {
				if err := l.Append(ctx, ev); err != nil {
					b.Fatal(err)
				}
			}
			if err := l.Close(ctx); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkVerify measures Verify over 100 sessions of 10 events.
func BenchmarkVerify(b *testing.B) {
	st, _ := newStore(b)
	for range 100 {
		session(b, st, nil, 100, 10)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if rep, _, err := audit.Verify(ctx, st, testMAC); err != nil || !rep.OK {
			b.Fatal(rep, err)
		}
	}
}
