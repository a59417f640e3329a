package tables_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"runtime"
	"testing"

	"hdw/keys"
	"hdw/objstore"
	"hdw/objstore/storetest"
	"hdw/tables"
)

// opaque hides the store's files (an *os.File) behind a plain reader, as
// an S3 store's objects are: the table layer spools them.
type opaque struct{ objstore.Store }

func (o opaque) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	r, err := o.Store.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	return struct{ io.ReadCloser }{r}, nil
}

// liveHeap is the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// Issue 17: scanning an envelope-encrypted table streams it: the Parquet
// reader reads the decrypted chunks where it seeks (envelope.ReaderAt), so
// the live heap during the scan stays far below the file's size, from a
// local folder and from a store whose objects are plain streams.
func TestIssue17_EnvelopeScanBoundedHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 40 MB table")
	}
	ctx, local, dek, info := bigEnvelopeTable(t)
	for name, st := range map[string]objstore.Store{"local": local, "stream": opaque{local}} {
		base := liveHeap()
		var peak uint64
		n := 0
		_, err := tables.ScanObject(ctx, st, bigKey, dek, tables.Query{}, func(r *tables.Row) error {
			if n++; n%25_000 == 0 {
				peak = max(peak, liveHeap())
			}
			return nil
		})
		if err != nil || n != bigRows {
			t.Fatalf("%s: %d rows, %v", name, n, err)
		}
		grown := int64(peak) - int64(base)
		t.Logf("%s: file %d MiB, live heap during the scan +%d MiB", name, info.Size>>20, grown>>20)
		if grown > info.Size/4 {
			t.Fatalf("%s: the scan held %d bytes of a %d-byte table", name, grown, info.Size)
		}
	}
}

const (
	bigRows = 200_000
	bigKey  = "health/records/big.parquet"
)

// bigEnvelopeTable writes an envelope table of incompressible rows, at
// least 32 MiB, at bigKey in a local folder.
func bigEnvelopeTable(t *testing.T) (context.Context, objstore.Store, keys.Secret, objstore.Info) {
	t.Helper()
	ctx := context.Background()
	local := storetest.Local(t, t.TempDir())
	dek := keys.NewSecret(bytes.Repeat([]byte{9}, 32))
	s, _ := tables.NewSchema(tables.Field{Name: "pseudonym"}, tables.Field{Name: "notes"})
	w, err := tables.Create(ctx, local, bigKey, dek, tables.Envelope, s)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 100)
	for range bigRows {
		rand.Read(b) // incompressible
		if err := w.Append([]string{hex.EncodeToString(b[:8]), hex.EncodeToString(b)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = w.Close()
	if err != nil {
		t.Fatal(err)
	}
	info, err := local.Stat(ctx, bigKey)
	if err != nil || info.Size < 32<<20 {
		t.Fatalf("table of %d bytes (%v): want at least 32 MiB", info.Size, err)
	}
	return ctx, local, dek, info
}

// heapPeak is a writer that records the live heap every 4 MiB written.
type heapPeak struct {
	n    int
	peak uint64
}

func (h *heapPeak) Write(p []byte) (int, error) {
	if h.n += len(p); h.n >= 4<<20 {
		h.n, h.peak = 0, max(h.peak, liveHeap())
	}
	return len(p), nil
}

// sampled is a store whose objects, read, feed a [heapPeak].
type sampled struct {
	objstore.Store
	h *heapPeak
}

func (s sampled) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	r, err := s.Store.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.TeeReader(r, s.h), r}, nil
}

// Issue 17: hashing a stored table (DigestObject: workspace verify, rights,
// rotation) and copying its Parquet bytes out of OpenObject (workspace
// pull, migrations) stream it: the live heap stays far below the file's
// size, and both give the hash of what ReadObject returns.
func TestIssue17_DigestAndOpenObjectBoundedHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a 40 MB table")
	}
	ctx, local, dek, info := bigEnvelopeTable(t)
	bound := func(what string, base uint64, h *heapPeak) {
		t.Helper()
		grown := int64(h.peak) - int64(base)
		t.Logf("%s: file %d MiB, live heap +%d MiB", what, info.Size>>20, grown>>20)
		if h.peak == 0 || grown > info.Size/4 {
			t.Fatalf("%s held %d bytes of a %d-byte table (peak %d)", what, grown, info.Size, h.peak)
		}
	}
	h := &heapPeak{}
	base := liveHeap()
	sum, n, err := tables.DigestObject(ctx, sampled{local, h}, bigKey, dek)
	if err != nil {
		t.Fatal(err)
	}
	bound("digest", base, h)
	for name, st := range map[string]objstore.Store{"local": local, "stream": opaque{local}} {
		o, err := tables.OpenObject(ctx, st, bigKey, dek)
		if err != nil {
			t.Fatal(err)
		}
		h := &heapPeak{}
		base := liveHeap()
		copied, err := io.Copy(h, o.Source())
		if err != nil || copied != n || o.Modular() {
			t.Fatalf("%s: copied %d of %d bytes (modular %v): %v", name, copied, n, o.Modular(), err)
		}
		bound(name+" copy", base, h)
		if got, _, err := o.SHA256(); err != nil || got != sum {
			t.Fatalf("%s: OpenObject hash %s, DigestObject %s (%v)", name, got, sum, err)
		}
		o.Close()
	}
	data, err := tables.ReadObject(ctx, local, bigKey, dek)
	if h := sha256.Sum256(data); err != nil || hex.EncodeToString(h[:]) != sum || int64(len(data)) != n {
		t.Fatalf("DigestObject %s of %d bytes, ReadObject %d bytes (%v)", sum, n, len(data), err)
	}
}
