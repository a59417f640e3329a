package pipeline

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"hdw/objstore"
	"hdw/objstore/storetest"
)

// slowDelete widens the window between reading a stale lease and
// removing it, where two runs used to both take over.
type slowDelete struct{ objstore.Store }

func (s slowDelete) Delete(ctx context.Context, key string) error {
	time.Sleep(20 * time.Millisecond)
	return s.Store.Delete(ctx, key)
}

// TestIngestStaleLeaseTakeoverIsExclusive (issue 23 item 3): runs that
// all find the same stale lease at once: exactly one takes the warehouse,
// every other one finds it running. Before the takeover marker, a late
// run deleted the lease the first had just written, and two ingested.
func TestIngestStaleLeaseTakeoverIsExclusive(t *testing.T) {
	ctx := context.Background()
	for round := range 5 {
		local := storetest.Local(t, filepath.Join(t.TempDir(), "wh"))
		st := slowDelete{local}
		key := RunLeaseKey(0, 0)
		stale := runLease{Token: "dead-run", Operator: "gone", Since: time.Now().Add(-time.Hour), Expires: time.Now().Add(-time.Minute)}
		if err := objstore.WriteJSON(ctx, local, key, stale); err != nil {
			t.Fatal(err)
		}
		const n = 6
		var (
			mu       sync.Mutex
			won      int
			running  int
			releases []func()
			wg       sync.WaitGroup
		)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				opt := Options{Operator: "op", Profile: "ingest", LeaseTTL: time.Minute, Now: time.Now}
				rel, err := acquireRun(ctx, st, opt, func() {})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won++
					releases = append(releases, rel)
				case errors.Is(err, ErrIngestRunning):
					running++
				default:
					t.Errorf("round %d: %v", round, err)
				}
			}()
		}
		wg.Wait()
		for _, rel := range releases {
			rel()
		}
		if won != 1 || running != n-1 {
			t.Fatalf("round %d: %d runs took the warehouse, %d found it running; want 1 and %d", round, won, running, n-1)
		}
	}
}
