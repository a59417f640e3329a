package rights

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"

	"hdw/keys"
	"hdw/objstore"
	"hdw/warehouse"
)

// deks caches the unwrapped data keys of one operation; wipe when done.
type deks struct {
	wh *warehouse.Warehouse
	m  map[string]keys.Secret
}

func newDeks(wh *warehouse.Warehouse) *deks { return &deks{wh: wh, m: map[string]keys.Secret{}} }

func (d *deks) get(ctx context.Context, batch, store string) (keys.Secret, error) {
	k := batch + "|" + store
	if s, ok := d.m[k]; ok {
		return s, nil
	}
	s, err := d.wh.DataKey(ctx, batch, store)
	if err != nil {
		return keys.Secret{}, fmt.Errorf("data key of batch %s for the %s store: %w", batch, store, err)
	}
	d.m[k] = s
	return s, nil
}

func (d *deks) wipe() {
	for _, s := range d.m {
		s.Wipe()
	}
	clear(d.m)
}

// table is one decrypted table of a batch.
type table struct {
	batch, store, key string
	cols              []string
	rows              []map[string]string
	exists            bool
}

// readTable decrypts a table; a missing object is an empty table.
func readTable(ctx context.Context, wh *warehouse.Warehouse, d *deks, batch, store, key string) (*table, error) {
	t := &table{batch: batch, store: store, key: key}
	if _, err := wh.St.Stat(ctx, key); errors.Is(err, objstore.ErrNotExist) {
		return t, nil
	} else if err != nil {
		return nil, err
	}
	dek, err := d.get(ctx, batch, store)
	if err != nil {
		return nil, err
	}
	cols, err := warehouse.ReadEncryptedTable(ctx, wh.St, key, dek, func(r map[string]string) error {
		t.rows = append(t.rows, maps.Clone(r))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	t.cols, t.exists = cols, true
	return t, nil
}

// writeTable re-encrypts a table under its batch data key (the envelope
// draws a fresh salt per file, so the file key is new).
func writeTable(ctx context.Context, wh *warehouse.Warehouse, d *deks, t *table) error {
	dek, err := d.get(ctx, t.batch, t.store)
	if err != nil {
		return err
	}
	return warehouse.WriteEncryptedTable(ctx, wh.St, t.key, dek, t.cols, t.rows)
}

// objectHash returns the SHA-256 and size of a stored object (ciphertext as
// stored), or "" when it does not exist.
func objectHash(ctx context.Context, st objstore.Store, key string) (string, int64, error) {
	r, err := st.Open(ctx, key)
	if errors.Is(err, objstore.ErrNotExist) {
		return "", 0, nil
	}
	if err != nil {
		return "", 0, err
	}
	defer r.Close()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// batchTables lists the tables of a batch that hold person rows.
func batchTables(batch string) []struct{ store, key string } {
	return []struct{ store, key string }{
		{keys.Health, warehouse.HealthTableKey(batch)},
		{keys.Identity, warehouse.IdentityTableKey(batch)},
		{keys.Genetic, warehouse.GeneticTableKey(batch)},
	}
}

// imageBatch returns the batch of an image key
// (health/images/<pseudonym>/<batch>-<token>).
func imageBatch(key string) string {
	base := key[strings.LastIndex(key, "/")+1:]
	i := strings.LastIndex(base, "-")
	if i < 0 {
		return ""
	}
	return base[:i]
}

// imagePrefix is the folder of a pseudonym's images.
func imagePrefix(pseudonym string) string { return "health/images/" + pseudonym + "/" }

// images lists the image keys of a pseudonym.
func images(ctx context.Context, st objstore.Store, pseudonym string) ([]objstore.Info, error) {
	var out []objstore.Info
	for info, err := range st.List(ctx, imagePrefix(pseudonym)) {
		if err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}
