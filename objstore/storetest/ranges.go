package storetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"hdw/objstore"
)

// Ranged wraps a store into an [objstore.RangeGetter] that serves ranges
// from its objects and counts them: what the ranged reader's tests check
// without a network (requests, bodies open at once, a fault in one range).
type Ranged struct {
	objstore.Store
	// Fault, when set, is called for every range; a non-empty result fails
	// it: "refuse" fails the request, "cut" returns half the range then an
	// error.
	Fault func(key string, off, n int64) string

	mu                sync.Mutex
	requests          int               // GetRange calls
	bodies, maxBodies int               // bodies open now, and the most at once
	wholeOpens        int               // Open calls (objects read whole)
	cache             map[string][]byte // objects read, by key and ETag
}

// Open counts the objects opened whole.
func (r *Ranged) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	r.mu.Lock()
	r.wholeOpens++
	r.mu.Unlock()
	return r.Store.Open(ctx, key)
}

// GetRange implements objstore.RangeGetter over the wrapped store.
func (r *Ranged) GetRange(ctx context.Context, key string, off, n int64, etag string) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	info, err := r.Store.Stat(ctx, key)
	if err != nil {
		return nil, err
	}
	if etag != "" && info.ETag != etag {
		return nil, fmt.Errorf("%s: %w", key, objstore.ErrChanged)
	}
	fault := ""
	if r.Fault != nil {
		fault = r.Fault(key, off, n)
	}
	if fault == "refuse" {
		return nil, fmt.Errorf("storetest: range at %d refused: %w", off, objstore.ErrUnreachable)
	}
	all, err := r.object(ctx, key, info.ETag)
	if err != nil {
		return nil, err
	}
	if off+n > int64(len(all)) {
		n = int64(len(all)) - off
	}
	body := &rangeBody{r: r, data: bytes.NewReader(all[off : off+n])}
	if fault == "cut" {
		body.data = bytes.NewReader(all[off : off+n/2])
		body.cut = true
	}
	r.mu.Lock()
	r.requests++
	r.bodies++
	r.maxBodies = max(r.maxBodies, r.bodies)
	r.mu.Unlock()
	return body, nil
}

// object returns the object's bytes, read once per version (the ranges
// are served from memory: a test's allocations are the reader's).
func (r *Ranged) object(ctx context.Context, key, etag string) ([]byte, error) {
	r.mu.Lock()
	b, ok := r.cache[key+"\x00"+etag]
	r.mu.Unlock()
	if ok {
		return b, nil
	}
	rc, err := r.Store.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if b, err = io.ReadAll(rc); err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.cache == nil {
		r.cache = map[string][]byte{}
	}
	r.cache[key+"\x00"+etag] = b
	r.mu.Unlock()
	return b, nil
}

type rangeBody struct {
	r      *Ranged
	data   *bytes.Reader
	cut    bool
	closed bool
}

func (b *rangeBody) Read(p []byte) (int, error) {
	n, err := b.data.Read(p)
	if err == io.EOF && b.cut {
		return n, fmt.Errorf("storetest: connection cut: %w", objstore.ErrUnreachable)
	}
	return n, err
}

func (b *rangeBody) Close() error {
	if !b.closed {
		b.closed = true
		b.r.mu.Lock()
		b.r.bodies--
		b.r.mu.Unlock()
	}
	return nil
}

// Counts returns the GetRange calls, the range bodies open now and the
// most open at once, and the objects opened whole.
func (r *Ranged) Counts() (requests, open, maxOpen, whole int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests, r.bodies, r.maxBodies, r.wholeOpens
}
