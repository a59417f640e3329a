package s3store_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"hdw/objstore"
	"hdw/objstore/s3store"
)

// faultProxy is a reverse proxy in front of the real S3 server that breaks
// the requests for which fault returns true: "cut" forwards the request to
// the server, then closes the client's connection without a response (the
// request was applied, its answer lost); "stall" never answers; "503"
// answers 503 Service Unavailable without forwarding.
type faultProxy struct {
	*httptest.Server
	calls atomic.Int64
}

func newFaultProxy(t *testing.T, endpoint string, fault func(n int64, r *http.Request) string) *faultProxy {
	t.Helper()
	target, _ := url.Parse(endpoint)
	rp := httputil.NewSingleHostReverseProxy(target)
	fp := &faultProxy{}
	fp.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := fp.calls.Add(1)
		switch fault(n, r) {
		case "cut":
			rec := httptest.NewRecorder()
			rp.ServeHTTP(rec, r) // applied on the server
			hj, ok := w.(http.Hijacker)
			if !ok {
				t.Error("no hijacker")
				return
			}
			c, _, _ := hj.Hijack()
			c.Close()
			return
		case "503":
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		case "stall":
			select {
			case <-time.After(5 * time.Second):
			case <-r.Context().Done():
			}
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(fp.Close)
	return fp
}

// TestS3RetriedConditionalPutIsIdempotent: the first attempt of a
// conditional PUT is applied but its response is lost; the SDK's retry
// gets 412 and the store compares what it finds with what it meant to
// write: the same bytes are a success, other bytes objstore.ErrExist.
func TestS3RetriedConditionalPutIsIdempotent(t *testing.T) {
	c := server(t)
	var cutOnce atomic.Bool
	fp := newFaultProxy(t, c.Endpoint, func(_ int64, r *http.Request) string {
		if r.Method == http.MethodPut && cutOnce.CompareAndSwap(false, true) {
			return "cut"
		}
		return ""
	})
	c.Endpoint = fp.URL
	s := fresh(t, c)
	ctx := context.Background()
	for i := range 3 {
		cutOnce.Store(false)
		key := "batches/b" + string(rune('a'+i)) + ".json"
		if err := s.PutIfAbsent(ctx, key, strings.NewReader(`{"batch":1}`)); err != nil {
			t.Fatalf("run %d: retried conditional PUT: %v (false 'already exists')", i, err)
		}
	}
	if fp.calls.Load() < 6 {
		t.Fatalf("%d requests for 3 puts: the cut did not cause retries", fp.calls.Load())
	}
	cutOnce.Store(true) // no more faults
	if err := s.PutIfAbsent(ctx, "batches/ba.json", strings.NewReader(`{"batch":2}`)); !errors.Is(err, objstore.ErrExist) {
		t.Fatalf("different content: %v, want ErrExist", err)
	}
	if err := s.PutIfAbsent(ctx, "batches/ba.json", strings.NewReader(`{"batch":1}`)); err != nil {
		t.Fatalf("same content rewritten: %v", err)
	}
}

// TestS3ErrorsSayWhatFailed: each S3 failure is named, never "no manifest".
func TestS3ErrorsSayWhatFailed(t *testing.T) {
	c := server(t)
	ctx := context.Background()
	t.Run("access denied", func(t *testing.T) {
		bad := c
		bad.AccessKeyID, bad.SecretAccessKey = os.Getenv("AWS_ACCESS_KEY_ID"), "wrong-secret-key-0123456789"
		bad.MaxRetries = 1
		statAndListFail(t, fresh(t, bad), objstore.ErrAccessDenied, "wrong secret")
	})
	t.Run("no such bucket", func(t *testing.T) {
		nb := c
		nb.Bucket = "no-such-bucket-hdw"
		s := fresh(t, nb)
		for _, err := range s.List(ctx, "") {
			if !errors.Is(err, objstore.ErrNoBucket) {
				t.Fatalf("missing bucket: %v", err)
			}
		}
	})
	t.Run("endpoint unreachable", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close() // nothing listens there now
		down := c
		down.Endpoint = "http://" + addr
		down.MaxRetries = 2
		s := fresh(t, down)
		_, err = s.Stat(ctx, "manifest.csv")
		if !errors.Is(err, objstore.ErrUnreachable) {
			t.Fatalf("server down: %v", err)
		}
		if strings.Contains(err.Error(), "manifest.csv") {
			t.Fatalf("the message names the object: %v", err)
		}
	})
	t.Run("stalled server times out", func(t *testing.T) {
		fp := newFaultProxy(t, c.Endpoint, func(int64, *http.Request) string { return "stall" })
		st := c
		st.Endpoint, st.Timeout, st.MaxRetries = fp.URL, 200*time.Millisecond, 2
		s := fresh(t, st)
		start := time.Now()
		_, err := s.Stat(ctx, "x")
		if !errors.Is(err, objstore.ErrUnreachable) || time.Since(start) > 4*time.Second {
			t.Fatalf("stalled: %v after %v", err, time.Since(start))
		}
	})
	t.Run("wrong region", func(t *testing.T) {
		// A 301 PermanentRedirect is what AWS answers a client of another region.
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("x-amz-bucket-region", "eu-west-3")
			w.WriteHeader(http.StatusMovedPermanently)
			io.WriteString(w, `<?xml version="1.0"?><Error><Code>PermanentRedirect</Code><Message>use the right endpoint</Message></Error>`)
		}))
		defer ts.Close()
		wr := c
		wr.Endpoint = ts.URL
		statAndListFail(t, fresh(t, wr), objstore.ErrWrongRegion, "wrong region")
	})
}

// statAndListFail: a Stat (HEAD) and a List on s both fail with want.
func statAndListFail(t *testing.T, s objstore.Store, want error, what string) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Stat(ctx, "manifest.csv"); !errors.Is(err, want) {
		t.Fatalf("%s (stat): %v", what, err)
	}
	for _, err := range s.List(ctx, "") {
		if !errors.Is(err, want) {
			t.Fatalf("%s (list): %v", what, err)
		}
	}
}

// TestS3RegionFromProfile: with no AWS_REGION the profile's region is used
// (no forced us-east-1); AWS_REGION wins over the profile, as in the AWS CLI.
func TestS3RegionFromProfile(t *testing.T) {
	dir := t.TempDir()
	cfgFile := filepath.Join(dir, "config")
	os.WriteFile(cfgFile, []byte("[profile hdw]\nregion = eu-west-3\n"), 0o600)
	t.Setenv("AWS_CONFIG_FILE", cfgFile)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_PROFILE", "hdw")
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	s, err := s3store.New(context.Background(), s3store.Config{Bucket: "b", Endpoint: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Region() != "eu-west-3" {
		t.Fatalf("region %q, want the profile's eu-west-3", s.Region())
	}
	t.Setenv("AWS_REGION", "eu-central-1")
	s, _ = s3store.New(context.Background(), s3store.Config{Bucket: "b", Endpoint: "http://127.0.0.1:1"})
	if s.Region() != "eu-central-1" {
		t.Fatalf("region %q, want AWS_REGION's", s.Region())
	}
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	if _, err := s3store.New(context.Background(), s3store.Config{Bucket: "b"}); err == nil || !strings.Contains(err.Error(), "no region") {
		t.Fatalf("no region anywhere on AWS: %v", err)
	}
}

var _ = bytes.Equal
