package s3store_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"hdw/objstore"
)

// putRandom writes n random bytes at key and returns them with the
// object's Info as the listing gives it (ETag included).
func putRandom(t *testing.T, s objstore.Store, key string, n int) ([]byte, objstore.Info) {
	t.Helper()
	ctx := context.Background()
	b := make([]byte, n)
	rand.Read(b)
	if err := objstore.Put(ctx, s, key, bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	for i, err := range s.List(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		if i.Key == key {
			return b, i
		}
	}
	t.Fatalf("%s not listed", key)
	return nil, objstore.Info{}
}

// TestIssue24_S3RangedGetIsTheObject: against the real S3 server, a large
// object (multipart, 41 MiB) read with ranged parallel GETs of 3 MiB has
// the bytes and the SHA-256 of the object, and was fetched in 14 range
// requests pinned to its ETag.
func TestIssue24_S3RangedGetIsTheObject(t *testing.T) {
	c := server(t)
	var ranges, unpinned atomic.Int64
	fp := newFaultProxy(t, c.Endpoint, func(_ int64, r *http.Request) string {
		if r.Method == http.MethodGet && r.Header.Get("Range") != "" {
			ranges.Add(1)
			if r.Header.Get("If-Match") == "" {
				unpinned.Add(1)
			}
		}
		return ""
	})
	c.Endpoint = fp.URL
	s := fresh(t, c)
	const size = 41<<20 + 5
	want, info := putRandom(t, s, "images/large.dcm", size)
	r := objstore.NewRanges(1<<20, 3<<20, 4)
	rc, err := r.Open(context.Background(), s, info)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.Copy(h, rc)
	rc.Close()
	if err != nil || n != size || !bytes.Equal(h.Sum(nil), func() []byte { s := sha256.Sum256(want); return s[:] }()) {
		t.Fatalf("ranged read: %d of %d bytes, %v, digest equal: %v", n, size, err, err == nil && n == size)
	}
	if got := ranges.Load(); got != 14 || unpinned.Load() != 0 {
		t.Fatalf("%d range requests (want 14), %d without If-Match", got, unpinned.Load())
	}
	if r.Idle() != 4 {
		t.Fatalf("%d of 4 buffers idle after Close", r.Idle())
	}
}

// TestIssue24_S3RangeFaultFailsTheObject: one range of a large object
// answered 503 every time (after the SDK's retries) fails that object's
// read with the store's error, never a truncated object read as whole;
// the bytes before it are delivered, then the error; the next object
// reads.
func TestIssue24_S3RangeFaultFailsTheObject(t *testing.T) {
	c := server(t)
	c.MaxRetries = 1
	fp := newFaultProxy(t, c.Endpoint, func(_ int64, r *http.Request) string {
		if strings.HasPrefix(r.Header.Get("Range"), "bytes=6291456-") && strings.Contains(r.URL.Path, "large") {
			return "503"
		}
		return ""
	})
	c.Endpoint = fp.URL
	s := fresh(t, c)
	_, info := putRandom(t, s, "images/large.dcm", 10<<20)
	small, sinfo := putRandom(t, s, "images/small.dcm", 5<<20)
	r := objstore.NewRanges(1<<20, 3<<20, 4)
	ctx := context.Background()
	rc, err := r.Open(ctx, s, info)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, rc)
	rc.Close()
	if err == nil || n != 6<<20 {
		t.Fatalf("read %d bytes (want the 6 MiB before the failed range), error %v", n, err)
	}
	rc, err = r.Open(ctx, s, sinfo)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if got, err := io.ReadAll(rc); err != nil || !bytes.Equal(got, small) {
		t.Fatalf("next object: %v", err)
	}
	if r.Idle() != 4 {
		t.Fatalf("%d of 4 buffers idle after the fault", r.Idle())
	}
}

// TestIssue24_S3RangeIgnoredIsRefused: a server (here a proxy dropping the
// Range header) that answers a later range with the whole object is
// refused, never read as that range's bytes.
func TestIssue24_S3RangeIgnoredIsRefused(t *testing.T) {
	c := server(t)
	fp := newFaultProxy(t, c.Endpoint, func(_ int64, r *http.Request) string {
		if strings.Contains(r.URL.Path, "large") {
			r.Header.Del("Range")
		}
		return ""
	})
	c.Endpoint = fp.URL
	s := fresh(t, c)
	_, info := putRandom(t, s, "images/large.dcm", 3<<20)
	g := s.(objstore.RangeGetter)
	body, err := g.GetRange(context.Background(), info.Key, 1<<20, 1<<20, info.ETag)
	if err == nil {
		body.Close()
		t.Fatal("a range answered with the whole object was accepted")
	}
}
