package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"hdw/objstore"
)

// Local opens a local store in dir (t.TempDir() for a fresh one); an
// error fails t.
func Local(t testing.TB, dir string) *objstore.Local {
	t.Helper()
	st, err := objstore.NewLocal(dir)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// Count returns how many objects st lists under prefix, failing t on a
// listing error.
func Count(t testing.TB, st objstore.Store, prefix string) int {
	t.Helper()
	n := 0
	for _, err := range st.List(t.Context(), prefix) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	return n
}

// RoundTrip writes src to the object key of s, reads it back into dst and
// returns how many bytes it read, failing t when writing or opening fails.
func RoundTrip(t testing.TB, s objstore.Store, key string, src io.Reader, dst io.Writer) int64 {
	t.Helper()
	w, err := s.Create(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, src); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rc, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	n, _ := io.Copy(dst, rc)
	return n
}

// randBytes reads bytes from r, one Uint32 a byte.
type randBytes struct{ r *rand.Rand }

func (b randBytes) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b.r.Uint32())
	}
	return len(p), nil
}

// Run runs the suite on a fresh, empty store from newStore.
func Run(t *testing.T, newStore func(t *testing.T) objstore.Store) {
	ctx := context.Background()
	put := func(t *testing.T, s objstore.Store, k, v string) {
		t.Helper()
		w, err := s.Create(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, v)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	get := func(t *testing.T, s objstore.Store, k string) string {
		t.Helper()
		r, err := s.Open(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		b, _ := io.ReadAll(r)
		return string(b)
	}
	t.Run("create publishes on close, abort discards", func(t *testing.T) {
		s := newStore(t)
		w, _ := s.Create(ctx, "a/b.txt")
		io.WriteString(w, "hello")
		if _, err := s.Stat(ctx, "a/b.txt"); !errors.Is(err, objstore.ErrNotExist) {
			t.Fatal("object visible before Close")
		}
		w.Close()
		if get(t, s, "a/b.txt") != "hello" {
			t.Fatal("content")
		}
		w2, _ := s.Create(ctx, "a/c.txt")
		io.WriteString(w2, "x")
		objstore.Abort(w2)
		if _, err := s.Stat(ctx, "a/c.txt"); !errors.Is(err, objstore.ErrNotExist) {
			t.Fatal("aborted object exists")
		}
	})
	t.Run("put if absent is exclusive", func(t *testing.T) {
		s := newStore(t)
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				err := s.PutIfAbsent(ctx, "commit.json", strings.NewReader(fmt.Sprint(i)))
				if err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				} else if !errors.Is(err, objstore.ErrExist) {
					t.Errorf("unexpected error %v", err)
				}
			}(i)
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("%d writers won, want 1", wins)
		}
		if v := get(t, s, "commit.json"); len(v) != 1 || v[0] < '0' || v[0] > '7' {
			t.Fatalf("winner content %q", v)
		}
	})
	t.Run("list order and prefixes", func(t *testing.T) {
		s := newStore(t)
		for _, k := range []string{"b/2", "a/1", "b/1", "c", "ba/x"} {
			put(t, s, k, k)
		}
		var got []string
		for info, err := range s.List(ctx, "b/") {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, info.Key)
		}
		if strings.Join(got, ",") != "b/1,b/2" {
			t.Fatalf("list b/: %v", got)
		}
		n := 0
		for range s.List(ctx, "") {
			n++
		}
		if n != 5 {
			t.Fatalf("list all: %d", n)
		}
	})
	t.Run("missing and bad keys", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.Open(ctx, "nope"); !errors.Is(err, objstore.ErrNotExist) {
			t.Fatal(err)
		}
		if _, err := s.Stat(ctx, "dir/nope"); !errors.Is(err, objstore.ErrNotExist) {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, "nope"); err != nil {
			t.Fatal(err)
		}
		put(t, s, "gone", "x")
		if err := s.Delete(ctx, "gone"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Stat(ctx, "gone"); !errors.Is(err, objstore.ErrNotExist) {
			t.Fatalf("deleted object: %v", err)
		}
		if err := s.PutIfAbsent(ctx, "../up", strings.NewReader("x")); !errors.Is(err, objstore.ErrBadKey) {
			t.Errorf("put if absent bad key: %v", err)
		}
		for _, k := range []string{"", "/abs", "../up", "a/../../x"} {
			if _, err := s.Create(ctx, k); !errors.Is(err, objstore.ErrBadKey) {
				t.Errorf("key %q: %v", k, err)
			}
		}
	})
	t.Run("big object streams", func(t *testing.T) {
		s := newStore(t)
		const size = 40 << 20
		h, h2 := sha256.New(), sha256.New()
		src := io.LimitReader(randBytes{rand.New(rand.NewPCG(1, 2))}, size)
		n := RoundTrip(t, s, "big", io.TeeReader(src, h), h2)
		if n != size || !bytes.Equal(h.Sum(nil), h2.Sum(nil)) {
			t.Fatalf("big object differs (%d bytes)", n)
		}
		info, err := s.Stat(ctx, "big")
		if err != nil || info.Size != size || info.ETag == "" {
			t.Fatalf("stat %+v %v", info, err)
		}
	})
}
