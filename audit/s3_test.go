package audit_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"hdw/audit"
	"hdw/objstore/s3store"
	"hdw/objstore/s3store/s3test"
)

// The S3 store offers Object Lock to the audit log.
var _ audit.Locker = (*s3store.Store)(nil)

// s3Store returns a fresh prefix of the real S3 server started by make test.
func s3Store(t *testing.T) *s3store.Store { return s3test.Store(t, "audit-test") }

// TestS3_SEC_DAY_1_ConcurrentWriters: sharded writers on one S3 warehouse
// race for heads through conditional puts; the trail verifies, and Object
// Lock falls back to write-once puts on a bucket without lock.
func TestS3_SEC_DAY_1_ConcurrentWriters(t *testing.T) {
	st := s3Store(t)
	ctx := context.Background()
	const writers = 4
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			l, err := audit.Open(ctx, st, testMAC, audit.Options{Profile: "ingest", Operator: "LH-SVC-0001",
				LockMode: "GOVERNANCE", LockFor: 24 * time.Hour})
			if err != nil {
				t.Error(err)
				return
			}
			for range 3 {
				if err := l.Append(ctx, audit.Event{Command: "ingest", Action: "batch.commit", Outcome: "ok"}); err != nil {
					t.Error(err)
				}
			}
			if err := l.Close(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	rep, _, err := audit.Verify(ctx, st, testMAC)
	if err != nil || !rep.OK || rep.Sessions != writers || rep.Events != writers*5 {
		t.Fatalf("%+v %v", rep, err)
	}
	// A deleted part is found on S3 too (when the bucket lets us delete).
	var key string
	for info, err := range st.List(ctx, "audit/segments/") {
		if err != nil {
			t.Fatal(err)
		}
		key = info.Key
		break
	}
	if err := st.Delete(ctx, key); err != nil {
		t.Logf("delete refused (object lock): %v", err)
		return
	}
	if rep, _, _ := audit.Verify(ctx, st, testMAC); rep.OK {
		t.Fatal("deleted segment not detected on S3")
	}
}
