// Package warehousetest holds what the tests around the warehouse share
// to look inside it: the batch an object key belongs to, and the
// plaintext of a stored object for leak scans. Tests only; it reads with
// the keys the caller's profile holds.
package warehousetest

import (
	"bytes"
	"context"
	"fmt"
	"strings"

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
