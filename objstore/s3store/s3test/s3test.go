// Package s3test gives tests the real S3 server that make test starts
// (scripts/s3-server.sh): its configuration and fresh prefixes. Without a
// server (HDW_S3_TEST_BUCKET unset) tests skip, or fail under
// HDW_DISALLOW_SKIP=1, as in CI.
package s3test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"hdw/internal/testenv"
	"hdw/objstore/s3store"
)

// Available returns the server's configuration (bucket set, no prefix) and
// true, or false when no server was started; under HDW_DISALLOW_SKIP=1 a
// missing server fails t instead.
func Available(t testing.TB) (s3store.Config, bool) {
	t.Helper()
	b := os.Getenv("HDW_S3_TEST_BUCKET")
	if b == "" {
		if testenv.Strict() {
			t.Fatal("HDW_S3_TEST_BUCKET not set: make test starts the S3 server (scripts/s3-server.sh)")
		}
		return s3store.Config{}, false
	}
	c := s3store.ConfigFromEnv(os.Getenv)
	c.Bucket = b
	return c, true
}

// Config is Available, skipping t without a server.
func Config(t testing.TB) s3store.Config {
	t.Helper()
	c, ok := Available(t)
	if !ok {
		t.Skip("no S3 server (make test starts one: HDW_S3_TEST_BUCKET)")
	}
	return c
}

var n atomic.Int64

// Fresh opens a new prefix of c's bucket under name.
func Fresh(t testing.TB, c s3store.Config, name string) *s3store.Store {
	t.Helper()
	c.Prefix = fmt.Sprintf("%s/%d-%d", name, time.Now().UnixNano(), n.Add(1))
	s, err := s3store.New(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Store is Fresh on the server, skipping t without one.
func Store(t testing.TB, name string) *s3store.Store {
	t.Helper()
	return Fresh(t, Config(t), name)
}
