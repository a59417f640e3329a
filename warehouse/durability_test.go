package warehouse_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"syscall"
	"testing"

	"hdw/keys"
	"hdw/keys/keystest"
	"hdw/objstore"
	"hdw/objstore/storetest"
	"hdw/warehouse"
)

var _ objstore.Deferrer = (*objstore.Local)(nil)

func TestIsBatchObject(t *testing.T) {
	const b = "20260101T000000Z-0123456789abcdef"
	tests := []struct {
		key  string
		want bool
	}{
		{warehouse.HealthTableKey(b), true},
		{"health/records/batch=" + b + "/part-1.parquet", true},
		{warehouse.IdentityTableKey(b), true},
		{warehouse.ProfessionalTableKey(b), true},
		{warehouse.GeneticTableKey(b), true},
		{warehouse.ImageKey("PSEUDO", b+"-tok", ""), true},
		{warehouse.ImageKey("PSEUDO", b+"-tok", ".dcm"), true},
		{warehouse.ImageKey("PSEUDO", "other-tok", ""), false},
		{"health/images/" + b + "-tok", false},
		{"health/images/PSEUDO/sub/" + b + "-tok", false},
		{"health/records/batch=" + b + "/sub/part-0.parquet", false},
		{"health/records/batch=" + b + "x/part-0.parquet", false},
		{warehouse.IdentityTableKey(b + "x"), false},
		{warehouse.CommitKey(b), false},
		{warehouse.PendingKey(b), false},
		{warehouse.BatchKeysKey(b), false},
		{"workspaces/p/" + b + "-tok", false},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := warehouse.IsBatchObject(b, tt.key); got != tt.want {
				t.Fatalf("IsBatchObject = %v, want %v", got, tt.want)
			}
		})
	}
	if warehouse.IsBatchObject("", "health/images/p/-x") {
		t.Fatal("empty batch matched")
	}
}

// recorder wraps a local store and logs Sync and PutIfAbsent in order; a
// set failSync makes Sync fail.
type recorder struct {
	*objstore.Local
	log      []string
	failSync error
}

func (r *recorder) Sync(ctx context.Context) error {
	r.log = append(r.log, "sync")
	if r.failSync != nil {
		return r.failSync
	}
	return r.Local.Sync(ctx)
}

func (r *recorder) PutIfAbsent(ctx context.Context, key string, rd io.Reader) error {
	r.log = append(r.log, "put "+key)
	return r.Local.PutIfAbsent(ctx, key, rd)
}

// newBatch opens batch b (a dry run or not) on a new warehouse in a
// recorded local store and returns the batch's health data key.
func newBatch(t *testing.T, b string, dryRun bool) (*recorder, *warehouse.Warehouse, keys.Secret) {
	t.Helper()
	ctx := context.Background()
	l := storetest.Local(t, t.TempDir())
	rec := &recorder{Local: l}
	if err := warehouse.Create(ctx, rec, warehouse.Descriptor{ID: "t", KeyProvider: "local"}); err != nil {
		t.Fatal(err)
	}
	wh, err := warehouse.Open(ctx, rec, keystest.NewFake(keys.ProfileIngest, nil))
	if err != nil {
		t.Fatal(err)
	}
	deks, err := wh.NewBatchKeys(ctx, b, []string{keys.Health}, dryRun)
	if err != nil {
		t.Fatal(err)
	}
	return rec, wh, deks[keys.Health]
}

func writeObj(t *testing.T, st objstore.Store, key string, dek keys.Secret) {
	t.Helper()
	w, err := warehouse.CreateEncrypted(context.Background(), st, key, dek)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, "payload of "+key)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestBatchObjectsDurableOnlyAtCommit: while a batch runs its tables and
// images are written without fsync (a simulated power loss drops them, and
// no commit record names them); WriteCommit makes them durable before it
// writes the record; objects written outside the batch, and the batch's
// objects after its commit (rights rewriting a table), are durable at once.
func TestBatchObjectsDurableOnlyAtCommit(t *testing.T) {
	ctx := context.Background()
	const b = "20260101T000000Z-00000000000000b1"
	rec, wh, dek := newBatch(t, b, false)
	img := warehouse.ImageKey("PSEUDO", b+"-tok", "")
	writeObj(t, rec, img, dek)
	writeObj(t, rec, warehouse.HealthTableKey(b), dek)
	writeObj(t, rec, "workspaces/p/records.parquet", dek)

	// Power loss before the commit: the batch's objects may be lost, the
	// others are durable, nothing is committed.
	if lost, want := objstore.TestDropUnsynced(rec.Local), []string{img, warehouse.HealthTableKey(b)}; !slices.Equal(lost, want) {
		t.Fatalf("not durable before the commit: %v, want %v", lost, want)
	}
	cs, err := wh.Commits(ctx)
	if err != nil || len(cs) != 0 {
		t.Fatalf("commits %v %v, want none", cs, err)
	}

	// Same writes again, then the commit: Sync first, then the record;
	// nothing is left to lose.
	writeObj(t, rec, img, dek)
	writeObj(t, rec, warehouse.HealthTableKey(b), dek)
	rec.log = nil
	if err := wh.WriteCommit(ctx, warehouse.Commit{Batch: b}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"sync", "put " + warehouse.CommitKey(b)}; !slices.Equal(rec.log, want) {
		t.Fatalf("WriteCommit did %v, want %v", rec.log, want)
	}
	if lost := objstore.TestDropUnsynced(rec.Local); len(lost) != 0 {
		t.Fatalf("committed objects not durable: %v", lost)
	}
	// After the commit the batch's objects are no longer deferred.
	writeObj(t, rec, warehouse.HealthTableKey(b), dek)
	writeObj(t, rec, warehouse.ImageKey("OTHER", b+"-tok", ""), dek)
	if lost := objstore.TestDropUnsynced(rec.Local); len(lost) != 0 {
		t.Fatalf("writes after the commit not durable: %v", lost)
	}
}

// TestWriteCommitSyncFails: a failed flush writes no commit record.
func TestWriteCommitSyncFails(t *testing.T) {
	ctx := context.Background()
	const b = "20260101T000000Z-00000000000000b2"
	rec, wh, dek := newBatch(t, b, false)
	writeObj(t, rec, warehouse.HealthTableKey(b), dek)
	rec.failSync = &objstore.SyncError{Key: ".", Err: syscall.EIO}
	err := wh.WriteCommit(ctx, warehouse.Commit{Batch: b})
	if !errors.Is(err, syscall.EIO) {
		t.Fatalf("WriteCommit = %v, want the flush error", err)
	}
	if _, err := rec.Stat(ctx, warehouse.CommitKey(b)); !errors.Is(err, objstore.ErrNotExist) {
		t.Fatalf("commit record written after a failed flush: %v", err)
	}
	if cs, _ := wh.Commits(ctx); len(cs) != 0 {
		t.Fatalf("batch visible: %v", cs)
	}
}

// TestDryRunDefersNothing: a dry run opens no batch.
func TestDryRunDefersNothing(t *testing.T) {
	const b = "20260101T000000Z-00000000000000b3"
	rec, _, dek := newBatch(t, b, true)
	writeObj(t, rec, warehouse.HealthTableKey(b), dek)
	if lost := objstore.TestDropUnsynced(rec.Local); len(lost) != 0 {
		t.Fatalf("deferred in a dry run: %v", lost)
	}
}
