package tables_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"runtime"
	"testing"

	"hdw/keys"
	"hdw/objstore"
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
	ctx := context.Background()
	local, err := objstore.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dek := keys.NewSecret(bytes.Repeat([]byte{9}, 32))
	s, _ := tables.NewSchema(tables.Field{Name: "pseudonym"}, tables.Field{Name: "notes"})
	w, err := tables.Create(ctx, local, "health/records/big.parquet", dek, tables.Envelope, s)
	if err != nil {
		t.Fatal(err)
	}
	const rows = 200_000
	b := make([]byte, 100)
	for range rows {
		rand.Read(b) // incompressible
		if err := w.Append([]string{hex.EncodeToString(b[:8]), hex.EncodeToString(b)}); err != nil {
			t.Fatal(err)
		}
	}
	_, err = w.Close()
	if err != nil {
		t.Fatal(err)
	}
	info, err := local.Stat(ctx, "health/records/big.parquet")
	if err != nil || info.Size < 32<<20 {
		t.Fatalf("table of %d bytes (%v): want at least 32 MiB", info.Size, err)
	}
	for name, st := range map[string]objstore.Store{"local": local, "stream": opaque{local}} {
		base := liveHeap()
		var peak uint64
		n := 0
		_, err := tables.ScanObject(ctx, st, "health/records/big.parquet", dek, tables.Query{}, func(r *tables.Row) error {
			if n++; n%25_000 == 0 {
				peak = max(peak, liveHeap())
			}
			return nil
		})
		if err != nil || n != rows {
			t.Fatalf("%s: %d rows, %v", name, n, err)
		}
		grown := int64(peak) - int64(base)
		t.Logf("%s: file %d MiB, live heap during the scan +%d MiB", name, info.Size>>20, grown>>20)
		if grown > info.Size/4 {
			t.Fatalf("%s: the scan held %d bytes of a %d-byte table", name, grown, info.Size)
		}
	}
}
