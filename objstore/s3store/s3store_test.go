package s3store_test

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"hdw/objstore"
	"hdw/objstore/s3store"
	"hdw/objstore/s3store/s3test"
	"hdw/objstore/storetest"
)

// server returns the config of the real S3 server started by make test.
func server(t *testing.T) s3store.Config {
	t.Helper()
	return s3test.Config(t)
}

var n atomic.Int64

func fresh(t *testing.T, c s3store.Config) objstore.Store {
	t.Helper()
	c.Prefix = fmt.Sprintf("conf/%d-%d", time.Now().UnixNano(), n.Add(1))
	s, err := s3store.New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestS3Conformance runs the objstore suite against the real server.
func TestS3Conformance(t *testing.T) {
	c := server(t)
	storetest.Run(t, func(t *testing.T) objstore.Store { return fresh(t, c) })
}

func TestS3Pagination(t *testing.T) {
	c := server(t)
	s := fresh(t, c)
	ctx := context.Background()
	for i := 0; i < 1105; i++ {
		w, _ := s.Create(ctx, fmt.Sprintf("p/%05d", i))
		w.Close()
	}
	if got := storetest.Count(t, s, "p/"); got != 1105 {
		t.Fatalf("listed %d of 1105 (pagination)", got)
	}
}

// TestSEC_RES_3_InsecureEndpointRefused: http is refused off loopback.
func TestSEC_RES_3_InsecureEndpointRefused(t *testing.T) {
	cases := []struct {
		ep    string
		allow bool
		ok    bool
	}{
		{"https://s3.example.org", false, true},
		{"http://s3.example.org", false, false},
		{"http://s3.example.org", true, true},
		{"http://127.0.0.1:9000", false, true},
		{"http://[::1]:9000", false, true},
		{"http://localhost:9000", false, true},
		{"http://10.0.0.5:9000", false, false},
		{"ftp://x", false, false},
	}
	for _, c := range cases {
		err := s3store.CheckEndpoint(c.ep, c.allow)
		if (err == nil) != c.ok {
			t.Errorf("%s allow=%v: %v", c.ep, c.allow, err)
		}
	}
	_, err := s3store.New(context.Background(), s3store.Config{Bucket: "b", Endpoint: "http://s3.example.org"})
	if !errors.Is(err, s3store.ErrInsecureEndpoint) {
		t.Fatal(err)
	}
}

// TestS3RetriesOn5xx puts a proxy that fails every other request with 503
// in front of the real server.
func TestS3RetriesOn5xx(t *testing.T) {
	c := server(t)
	fp := newFaultProxy(t, c.Endpoint, func(n int64, _ *http.Request) string {
		if n%2 == 1 {
			return "503"
		}
		return ""
	})
	c.Endpoint = fp.URL
	s := fresh(t, c)
	ctx := context.Background()
	w, err := s.Create(ctx, "retry.txt")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("data"))
	if err := w.Close(); err != nil {
		t.Fatalf("write through a flaky server: %v", err)
	}
	if _, err := s.Stat(ctx, "retry.txt"); err != nil {
		t.Fatal(err)
	}
	if fp.calls.Load() < 4 {
		t.Fatal("expected retries")
	}
}

func TestS3Cancel(t *testing.T) {
	c := server(t)
	s := fresh(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Stat(ctx, "x"); err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Fatalf("cancelled context: %v", err)
	}
}

func TestParseURL(t *testing.T) {
	b, p, err := s3store.ParseURL("s3://bucket/ACME/images/")
	if err != nil || b != "bucket" || p != "ACME/images" {
		t.Fatal(b, p, err)
	}
	if _, _, err := s3store.ParseURL("s3:///x"); err == nil {
		t.Fatal("no bucket must fail")
	}
}

// TestS3PutIfAbsentTooLarge: a write-once body over 64 MiB is refused, never truncated.
func TestS3PutIfAbsentTooLarge(t *testing.T) {
	c := server(t)
	s := fresh(t, c)
	err := s.PutIfAbsent(context.Background(), "big.json", io.LimitReader(zeros{}, 64<<20+1))
	if !errors.Is(err, s3store.ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge", err)
	}
	if _, err := s.Stat(context.Background(), "big.json"); !errors.Is(err, objstore.ErrNotExist) {
		t.Fatalf("refused object exists: %v", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// TestS3CancelDuringUpload: cancelling the context stops a multipart upload
// promptly and publishes nothing.
func TestS3CancelDuringUpload(t *testing.T) {
	c := server(t)
	s := fresh(t, c)
	ctx, cancel := context.WithCancel(context.Background())
	w, err := s.Create(ctx, "cancelled.bin")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1<<20)
	if _, err := w.Write(buf); err != nil {
		t.Fatal(err)
	}
	cancel()
	start := time.Now()
	var werr error
	for i := 0; i < 32 && werr == nil; i++ {
		_, werr = w.Write(buf)
	}
	cerr := w.Close()
	if werr == nil && cerr == nil {
		t.Fatal("upload succeeded after cancel")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cancel took %v", d)
	}
	if _, err := s.Stat(context.Background(), "cancelled.bin"); !errors.Is(err, objstore.ErrNotExist) {
		t.Fatalf("cancelled upload visible: %v", err)
	}
}

// TestS3PutLocked: Object Lock when the bucket has it, else ErrLockUnsupported;
// either way the object is write-once.
func TestS3PutLocked(t *testing.T) {
	c := server(t)
	s, err := s3store.New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	key := fmt.Sprintf("locked/%d.jsonl", time.Now().UnixNano())
	until := time.Now().Add(time.Hour)
	err = s.PutLocked(context.Background(), key, strings.NewReader("seg"), "GOVERNANCE", until)
	if errors.Is(err, s3store.ErrLockUnsupported) {
		t.Log("bucket without Object Lock: ErrLockUnsupported")
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	err = s.PutLocked(context.Background(), key, strings.NewReader("seg2"), "GOVERNANCE", until)
	if !errors.Is(err, objstore.ErrExist) {
		t.Fatalf("second locked put: %v", err)
	}
}

// TestS3CreateMemoryBounded: a 64 MiB streamed upload allocates far less
// than the object (bounded part buffers, no whole-object buffering).
func TestS3CreateMemoryBounded(t *testing.T) {
	c := server(t)
	s := fresh(t, c)
	const size = 64 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	n := storetest.RoundTrip(t, s, "big64", io.LimitReader(zeros{}, size), io.Discard)
	runtime.ReadMemStats(&after)
	if n != size {
		t.Fatalf("read %d bytes", n)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("allocated %d MiB for a %d MiB round trip", alloc>>20, size>>20)
	if alloc > 40<<20 {
		t.Fatalf("allocated %d MiB: whole-object buffering?", alloc>>20)
	}
}

// FuzzParseURL: an accepted URL has a slash-free bucket and a trimmed
// prefix, and its canonical form parses to the same values.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"s3://bucket/ACME/images/", "s3://b", "s3:///x", "s3://b//p//", "http://x/y", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, p, err := s3store.ParseURL(s)
		if err != nil {
			return
		}
		if b == "" || strings.Contains(b, "/") || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") {
			t.Fatalf("%q -> %q %q", s, b, p)
		}
		b2, p2, err := s3store.ParseURL("s3://" + b + "/" + p)
		if err != nil || b2 != b || p2 != p {
			t.Fatalf("canonical form of %q: %q %q %v", s, b2, p2, err)
		}
	})
}

// TestS3CustomCABundle: an https endpoint signed by a private CA works when
// AWS_CA_BUNDLE names the CA, and fails without it (SEC-RES-3).
func TestS3CustomCABundle(t *testing.T) {
	c := server(t)
	target, err := url.Parse(c.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(httputil.NewSingleHostReverseProxy(target))
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	ts.StartTLS()
	defer ts.Close()
	c.Endpoint = ts.URL
	c.MaxRetries = 1
	ctx := context.Background()

	s := fresh(t, c)
	if _, err := s.Stat(ctx, "x"); err == nil || errors.Is(err, objstore.ErrNotExist) {
		t.Fatalf("untrusted certificate accepted: %v", err)
	}

	trustCA(t, ts)
	s = fresh(t, c)
	if _, err := s.Stat(ctx, "x"); !errors.Is(err, objstore.ErrNotExist) {
		t.Fatalf("with AWS_CA_BUNDLE: %v", err)
	}
}

// trustCA makes the stores created after it trust ts's certificate
// (AWS_CA_BUNDLE, for the rest of t).
func trustCA(t *testing.T, ts *httptest.Server) {
	t.Helper()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_CA_BUNDLE", ca)
}

// TestS3RetriesOnTimeout: a first attempt whose response headers do not come
// within Config.Timeout is retried.
func TestS3RetriesOnTimeout(t *testing.T) {
	c := server(t)
	fp := newFaultProxy(t, c.Endpoint, func(n int64, _ *http.Request) string {
		if n == 1 {
			return "stall"
		}
		return ""
	})
	c.Endpoint = fp.URL
	c.Timeout = 300 * time.Millisecond
	s := fresh(t, c)
	start := time.Now()
	if _, err := s.Stat(context.Background(), "x"); !errors.Is(err, objstore.ErrNotExist) {
		t.Fatalf("stat through a stalled first attempt: %v", err)
	}
	if fp.calls.Load() < 2 || time.Since(start) > 2500*time.Millisecond {
		t.Fatalf("calls=%d after %v: no prompt retry", fp.calls.Load(), time.Since(start))
	}
}

// TestS3OpenRange: an object reopened from an offset gives the rest of it
// while unchanged; once replaced, objstore.ErrChanged (If-Match).
func TestS3OpenRange(t *testing.T) {
	ctx := context.Background()
	st := fresh(t, server(t))
	body := strings.Repeat("0123456789", 1000)
	w, err := st.Create(ctx, "m.csv")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, body)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	info, err := st.Stat(ctx, "m.csv")
	if err != nil {
		t.Fatal(err)
	}
	ro := st.(objstore.RangeOpener)
	rc, err := ro.OpenRange(ctx, "m.csv", 4321, info.ETag)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(got) != body[4321:] {
		t.Fatalf("range read: %v, %d bytes, want %d", err, len(got), len(body)-4321)
	}
	w, _ = st.Create(ctx, "m.csv")
	io.WriteString(w, "replaced")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ro.OpenRange(ctx, "m.csv", 10, info.ETag); !errors.Is(err, objstore.ErrChanged) {
		t.Errorf("replaced object: err = %v, want ErrChanged", err)
	}
}

// TestS3MultipartRecycledBuffers (issue 24): an object of several parts
// reads back byte for byte, then a small object written with the recycled
// part buffer of the first reads back whole (nothing of the first left in
// it).
// patterned returns n bytes that differ from part to part.
func patterned(n int) []byte {
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i*7 + i>>13)
	}
	return data
}

func TestS3MultipartRecycledBuffers(t *testing.T) {
	c := server(t)
	c.PartSize = 5 << 20
	s := fresh(t, c)
	ctx := context.Background()
	data := patterned(int(4*c.PartSize + 12345))
	for _, size := range []int{len(data), 1000} {
		w, err := s.Create(ctx, "parts")
		if err != nil {
			t.Fatal(err)
		}
		for p := data[:size]; len(p) > 0; {
			k := min(len(p), 777777)
			if _, err := w.Write(p[:k]); err != nil {
				t.Fatal(err)
			}
			p = p[k:]
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		rc, err := s.Open(ctx, "parts")
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, data[:size]) {
			t.Fatalf("%d bytes: read back %d bytes, equal %v, %v", size, len(got), bytes.Equal(got, data[:size]), err)
		}
	}
}
