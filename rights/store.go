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
	"hdw/tables"
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
	if store == keys.Genetic && errors.Is(err, keys.ErrForbidden) {
		err = keys.ErrGeneticReserved // SEC-LOG-6: the dpo never holds the genetic key
	}
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

// table is one stored table of a batch: where it is and its layout. Its
// rows are never held: [scanTable] streams them, [rewriteTable] edits them
// through the table layer's rewrite, one row group at a time (issue 17).
type table struct {
	batch, store, key string
	cols              []string
	schema            *tables.Schema // as stored: a rewrite keeps the types (issue 17)
	exists            bool
}

// scanTable decrypts a table and calls fn with each row (the map is reused
// between calls: clone what is kept); a missing object is an empty table.
func scanTable(ctx context.Context, wh *warehouse.Warehouse, d *deks, batch, store, key string, fn func(map[string]string) error) (*table, error) {
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
	m := map[string]string{}
	s, err := tables.ScanObject(ctx, wh.St, key, dek, tables.Query{}, func(r *tables.Row) error { return fn(r.Map(m)) })
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	t.schema, t.cols, t.exists = s, s.Columns(), true
	return t, nil
}

// identityRows loads every identity row, oldest batch first.
func (s *Service) identityRows(ctx context.Context, d *deks) ([]map[string]string, error) {
	commits, err := s.wh.Commits(ctx)
	if err != nil {
		return nil, err
	}
	var rows []map[string]string
	for _, c := range commits {
		t, err := tableRows(ctx, s.wh, d, c.Batch, keys.Identity, warehouse.IdentityTableKey(c.Batch))
		if err != nil {
			return nil, err
		}
		rows = append(rows, t...)
	}
	return rows, nil
}

// tableRows returns a table's rows for a caller that keeps them all (the
// identity rows a resolution compares); editing callers stream instead.
func tableRows(ctx context.Context, wh *warehouse.Warehouse, d *deks, batch, store, key string) ([]map[string]string, error) {
	var rows []map[string]string
	_, err := scanTable(ctx, wh, d, batch, store, key, func(r map[string]string) error {
		rows = append(rows, maps.Clone(r))
		return nil
	})
	return rows, err
}

// amends records what rights changed per object key, to amend the commit
// records: a new reference (rewritten, or moved to another key) or nil
// (deleted).
type amends map[string]*warehouse.ObjectRef

// rewriteTable rewrites a stored table of a batch in place through the
// table layer's rewrite verb (tables.Rewrite: the new table written in
// full under the batch data key, with a fresh envelope salt, then
// published over the old one, so a crash leaves the old table or the new
// one), every row passing through edit, in the layout it was read with;
// it records the new plaintext hash in am.
func rewriteTable(ctx context.Context, wh *warehouse.Warehouse, d *deks, t *table, am amends, edit tables.Edit) error {
	dek, err := d.get(ctx, t.batch, t.store)
	if err != nil {
		return err
	}
	o, err := tables.Rewrite(ctx, wh.St, t.key, dek, keys.Secret{}, tables.Envelope, t.schema, edit)
	if err != nil {
		return err
	}
	am[t.key] = &warehouse.ObjectRef{Key: t.key, Store: t.store, SHA256: o.SHA256, Size: o.Size}
	return nil
}

// amendCommits rewrites the commit records whose objects changed, so that
// they list what the batch holds now (deleted objects dropped, rewritten
// and moved ones with their new key and plaintext hash); the deletion proof
// keeps what they were. Objects not in am are reconciled too, so that a
// rerun after an interrupted erasure repairs the records: a table whose
// plaintext hash differs is updated, a missing table or a missing image
// under one of prefixes is dropped. It returns the amended batches.
func amendCommits(ctx context.Context, wh *warehouse.Warehouse, d *deks, am amends, prefixes []string) ([]string, error) {
	commits, err := wh.Commits(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range commits {
		changed := false
		objs := make([]warehouse.ObjectRef, 0, len(c.Objects))
		for _, o := range c.Objects {
			ref, ok := am[o.Key]
			if !ok {
				ref, err = current(ctx, wh, d, c.Batch, o, prefixes)
				if err != nil {
					return out, err
				}
			}
			switch {
			case ref == nil:
				changed = true
			case *ref != o:
				changed = true
				objs = append(objs, *ref)
			default:
				objs = append(objs, o)
			}
		}
		if !changed {
			continue
		}
		c.Objects = objs
		if err := objstore.WriteJSON(ctx, wh.St, warehouse.CommitKey(c.Batch), c); err != nil {
			return out, fmt.Errorf("amend the commit record of batch %s: %w", c.Batch, err)
		}
		out = append(out, c.Batch)
	}
	return out, nil
}

// current returns the present reference of a committed object: tables are
// re-hashed, images under prefixes checked for existence; nil when gone.
func current(ctx context.Context, wh *warehouse.Warehouse, d *deks, batch string, o warehouse.ObjectRef, prefixes []string) (*warehouse.ObjectRef, error) {
	if strings.HasSuffix(o.Key, ".parquet") {
		if _, err := wh.St.Stat(ctx, o.Key); errors.Is(err, objstore.ErrNotExist) {
			return nil, nil
		}
		dek, err := d.get(ctx, batch, o.Store)
		if err != nil {
			return nil, err
		}
		sum, size, err := tables.DigestObject(ctx, wh.St, o.Key, dek)
		if err != nil {
			return nil, err
		}
		ref := o
		ref.SHA256, ref.Size = sum, size
		return &ref, nil
	}
	for _, p := range prefixes {
		if strings.HasPrefix(o.Key, p) {
			if _, err := wh.St.Stat(ctx, o.Key); errors.Is(err, objstore.ErrNotExist) {
				return nil, nil
			}
		}
	}
	return &o, nil
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

// images lists the image keys of a pseudonym. With committed (not nil),
// only the images of those batches: an interrupted batch's images are not
// yet durable on a local warehouse (they may be empty after a power loss)
// and the next ingest removes them; erasure, which passes nil, removes them
// too.
func images(ctx context.Context, st objstore.Store, pseudonym string, committed []warehouse.Commit) ([]objstore.Info, error) {
	var batches map[string]bool
	if committed != nil {
		batches = make(map[string]bool, len(committed))
		for _, c := range committed {
			batches[c.Batch] = true
		}
	}
	var out []objstore.Info
	for info, err := range st.List(ctx, imagePrefix(pseudonym)) {
		if err != nil {
			return nil, err
		}
		if batches != nil && !batches[imageBatch(info.Key)] {
			continue
		}
		out = append(out, info)
	}
	return out, nil
}
