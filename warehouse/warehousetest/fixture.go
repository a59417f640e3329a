package warehousetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"hdw/keys"
	"hdw/objstore"
	"hdw/objstore/storetest"
	"hdw/warehouse"
)

// Empty creates an empty warehouse (id "test", local key provider) in a
// local store at <dir>/wh of a new temporary folder dir, and returns dir
// (for the test's uploads and copies) and the store. An error fails t.
func Empty(t testing.TB) (dir string, st *objstore.Local) {
	t.Helper()
	dir = t.TempDir()
	st = storetest.Local(t, filepath.Join(dir, "wh"))
	if err := warehouse.Create(context.Background(), st, warehouse.Descriptor{ID: "test", KeyProvider: "local"}); err != nil {
		t.Fatal(err)
	}
	return dir, st
}

// CheckCommits verifies that every object a commit record of w lists
// exists and has the plaintext hash and size the record gives; a missing
// object or a stale hash fails t. Objects of a store w's profile may not
// read (keys.ErrForbidden) are skipped and counted: the caller checks them
// with another profile's view, or fails when it expected to read them all.
func CheckCommits(t testing.TB, w *warehouse.Warehouse) (skipped int) {
	t.Helper()
	ctx := context.Background()
	cs, err := w.Commits(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		for _, o := range c.Objects {
			dek, err := w.DataKey(ctx, c.Batch, o.Store)
			if errors.Is(err, keys.ErrForbidden) {
				skipped++
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			data, err := warehouse.ReadEncryptedAll(ctx, w.St, o.Key, dek, 1<<30)
			if err != nil {
				t.Fatalf("commit record of %s lists %s: %v", c.Batch, o.Key, err)
			}
			if h := sha256.Sum256(data); hex.EncodeToString(h[:]) != o.SHA256 || int64(len(data)) != o.Size {
				t.Fatalf("commit record of %s: stale hash for %s", c.Batch, o.Key)
			}
		}
	}
	return skipped
}

// ContainsAny returns the first non-empty string of ss that data contains
// (a leak scan: identifiers, old pseudonyms), or "" when there is none.
func ContainsAny(data []byte, ss []string) string {
	for _, s := range ss {
		if s != "" && bytes.Contains(data, []byte(s)) {
			return s
		}
	}
	return ""
}

// Plain decrypts every object listed under each prefix ("health/",
// "identity/", "genetic/": the store is the prefix's first folder) with
// the keys of w's profile and returns the plaintext, as AppendPlain writes
// it, for leak scans. An object w's profile may not read fails t.
func Plain(t testing.TB, w *warehouse.Warehouse, prefixes ...string) []byte {
	t.Helper()
	ctx := context.Background()
	var out bytes.Buffer
	for _, prefix := range prefixes {
		store, _, _ := strings.Cut(prefix, "/")
		for info, err := range w.St.List(ctx, prefix) {
			if err != nil {
				t.Fatal(err)
			}
			if err := AppendPlain(ctx, &out, w, store, BatchOf(info.Key), info.Key); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out.Bytes()
}
