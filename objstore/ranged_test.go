package objstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"testing"

	"hdw/objstore"
	"hdw/objstore/storetest"
)

func rangedStore(t *testing.T, sizes map[string]int) (*storetest.Ranged, map[string][]byte) {
	t.Helper()
	ctx := context.Background()
	st := &storetest.Ranged{Store: storetest.Local(t, t.TempDir())}
	data := map[string][]byte{}
	for k, n := range sizes {
		b := make([]byte, n)
		rand.Read(b)
		if err := objstore.Put(ctx, st, k, bytes.NewReader(b)); err != nil {
			t.Fatal(err)
		}
		data[k] = b
	}
	return st, data
}

func info(t *testing.T, st objstore.Store, key string) objstore.Info {
	t.Helper()
	i, err := st.Stat(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// TestIssue24_RangedReadIsTheObject: a large object read in ranges (a size
// that is no multiple of the range) gives its bytes in order, in several
// requests; small objects and objects without an ETag are opened whole.
func TestIssue24_RangedReadIsTheObject(t *testing.T) {
	const rs = 64 << 10
	st, data := rangedStore(t, map[string]int{"big": 10*rs + 123, "small": rs})
	r := objstore.NewRanges(2*rs, rs, 3)
	ctx := context.Background()
	for _, k := range []string{"big", "small"} {
		rc, err := r.Open(ctx, st, info(t, st, k))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || sha256.Sum256(got) != sha256.Sum256(data[k]) {
			t.Fatalf("%s: %d bytes, %v: not the object", k, len(got), err)
		}
	}
	req, open, _, whole := st.Counts()
	if req != 11 || whole != 1 || open != 0 {
		t.Fatalf("requests %d (want 11 ranges), whole opens %d (want 1: the small one), bodies left open %d", req, whole, open)
	}
	noTag := info(t, st, "big")
	noTag.ETag = ""
	rc, err := r.Open(ctx, st, noTag)
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if _, _, _, whole := st.Counts(); whole != 2 {
		t.Fatal("an object without an ETag was read in ranges (they could mix versions)")
	}
}

// TestIssue24_RangedReadBoundedMemory: eight large objects read at once
// through Ranges of 3 buffers allocate about the 3 buffers, whatever the
// bytes read (64 MiB), and never hold more range bodies open than one per
// object plus one per buffer.
func TestIssue24_RangedReadBoundedMemory(t *testing.T) {
	const rs, ahead, objects = 1 << 20, 3, 8
	sizes := map[string]int{}
	for i := range objects {
		sizes[fmt.Sprint("o", i)] = 8*rs + i
	}
	st, data := rangedStore(t, sizes)
	r := objstore.NewRanges(rs, rs, ahead)
	infos := map[string]objstore.Info{}
	for k := range sizes {
		infos[k] = info(t, st, k)
	}
	for k := range sizes { // the fake's copy of each object, before measuring
		rc, err := st.GetRange(context.Background(), k, 0, 1, infos[k].ETag)
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var wg sync.WaitGroup
	errs := make(chan error, objects)
	for k := range sizes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc, err := r.Open(context.Background(), st, infos[k])
			if err != nil {
				errs <- err
				return
			}
			defer rc.Close()
			h := sha256.New()
			if _, err := io.CopyBuffer(h, rc, make([]byte, 32<<10)); err != nil {
				errs <- err
				return
			}
			if !bytes.Equal(h.Sum(nil), func() []byte { s := sha256.Sum256(data[k]); return s[:] }()) {
				errs <- fmt.Errorf("%s: not the object", k)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	_, open, maxOpen, _ := st.Counts()
	if open != 0 || maxOpen > objects+ahead {
		t.Fatalf("range bodies: %d left open, %d at once (bound %d)", open, maxOpen, objects+ahead)
	}
	if got, bound := after.TotalAlloc-before.TotalAlloc, uint64(ahead*rs+2<<20); got > bound {
		t.Fatalf("allocated %d KiB reading %d MiB, bound %d KiB (%d range buffers)", got>>10, objects*8, bound>>10, ahead)
	}
}

// TestIssue24_RangedReadFaultFailsTheObject: a range refused or cut, the
// first (streamed) or a later one (buffered), fails the object's read with
// the store's error, never a short object read as complete; Close returns
// every buffer and closes every body, and the next object reads whole.
func TestIssue24_RangedReadFaultFailsTheObject(t *testing.T) {
	const rs = 64 << 10
	for _, c := range []struct {
		name  string
		at    int64
		fault string
	}{{"first range cut", 0, "cut"}, {"later range cut", 2 * rs, "cut"}, {"later range refused", 3 * rs, "refuse"}, {"last range cut", 9 * rs, "cut"}} {
		t.Run(c.name, func(t *testing.T) {
			st, data := rangedStore(t, map[string]int{"big": 9*rs + 77, "next": 4 * rs})
			st.Fault = func(key string, off, n int64) string {
				if key == "big" && off == c.at {
					return c.fault
				}
				return ""
			}
			r := objstore.NewRanges(rs, rs, 3)
			ctx := context.Background()
			rc, err := r.Open(ctx, st, info(t, st, "big"))
			if err == nil {
				var got []byte
				got, err = io.ReadAll(rc)
				rc.Close()
				if err == nil || len(got) >= len(data["big"]) {
					t.Fatalf("read %d of %d bytes, error %v: the fault was not reported", len(got), len(data["big"]), err)
				}
			}
			if !errors.Is(err, objstore.ErrUnreachable) {
				t.Fatalf("error %v, want the store's fault", err)
			}
			if _, open, _, _ := st.Counts(); open != 0 || r.Idle() != 3 {
				t.Fatalf("after Close: %d bodies open, %d of 3 buffers idle", open, r.Idle())
			}
			rc, err = r.Open(ctx, st, info(t, st, "next"))
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			if got, err := io.ReadAll(rc); err != nil || !bytes.Equal(got, data["next"]) {
				t.Fatalf("next object after the fault: %v", err)
			}
		})
	}
}
