// Package warehousetest holds what the tests around the warehouse share
// to build and look inside one: an empty warehouse (Empty), the batch an
// object key belongs to, the plaintext of stored objects for leak scans
// (AppendPlain, Plain, ContainsAny), the check that every committed object
// is there with its recorded hash and size (CheckCommits), and a table
// rewritten in the format before issue 17 (ToLegacy, a migration's
// fixture). Tests only; it reads with the keys the caller's profile holds.
package warehousetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"hdw/keys"
	"hdw/objstore"
	"hdw/tables"
	"hdw/tables/tablestest"
	"hdw/warehouse"
)

// BatchOf returns the batch of a stored object's key: the batch=<id>
// part of a table's key, or the <batch> of an image key
// (health/images/<pseudonym>/<batch>-<token>).
func BatchOf(key string) string {
	if i := strings.Index(key, "batch="); i >= 0 {
		b := strings.TrimSuffix(key[i+6:], ".parquet")
		if j := strings.Index(b, "/"); j >= 0 {
			b = b[:j]
		}
		return b
	}
	base := key[strings.LastIndex(key, "/")+1:]
	return base[:strings.LastIndex(base, "-")]
}

// AppendPlain decrypts the object key of store with its batch's data key
// (the caller's profile must be able to unwrap it) and appends its
// plaintext to out: a table as one "column=value" line per cell, any
// other object as its bytes and a newline.
func AppendPlain(ctx context.Context, out *bytes.Buffer, wh *warehouse.Warehouse, store, batch, key string) error {
	dek, err := wh.DataKey(ctx, batch, store)
	if err != nil {
		return fmt.Errorf("%s: %w", key, err)
	}
	data, err := warehouse.ReadEncryptedAll(ctx, wh.St, key, dek, 1<<30)
	if err != nil {
		return fmt.Errorf("decrypt %s: %w", key, err)
	}
	if !strings.HasSuffix(key, ".parquet") {
		out.Write(data)
		out.WriteByte('\n')
		return nil
	}
	_, err = warehouse.ReadTable(data, func(m map[string]string) error {
		for k, v := range m {
			fmt.Fprintf(out, "%s=%s\n", k, v)
		}
		return nil
	})
	return err
}

// ToLegacy rewrites the table object key of st as hdw wrote tables before
// issue 17 (tablestest.Legacy: all-string Parquet in the envelope,
// alphabetical columns), sealed with its data key dek, and returns the
// SHA-256 (hex) and the size of the new plaintext for the records that
// name it.
func ToLegacy(ctx context.Context, st objstore.Store, key string, dek keys.Secret) (sum string, size int64, err error) {
	var rows [][]string
	s, err := tables.ScanObject(ctx, st, key, dek, tables.Query{}, func(r *tables.Row) error {
		var vals []string
		for _, c := range r.Columns() {
			vals = append(vals, r.Get(c))
		}
		rows = append(rows, vals)
		return nil
	})
	if err != nil {
		return "", 0, err
	}
	data, err := tablestest.Legacy(s.Columns(), rows)
	if err != nil {
		return "", 0, err
	}
	w, err := warehouse.CreateEncrypted(ctx, st, key, dek)
	if err != nil {
		return "", 0, err
	}
	if _, err := w.Write(data); err != nil {
		objstore.Abort(w)
		return "", 0, err
	}
	if err := w.Close(); err != nil {
		return "", 0, err
	}
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:]), int64(len(data)), nil
}
