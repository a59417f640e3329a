package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"hdw/configs"
	"hdw/keys"
	"hdw/objstore"
	"hdw/warehouse"
)

// HealthColumns returns the columns of the health records table: fixed
// columns, derived columns, then the dictionary's health and free-text columns.
func HealthColumns(d *configs.Dictionary) []string {
	cols := []string{"record_id", "pseudonym", "batch", "collected", "import", "image_key", "image_format",
		"image_sha256", "image_bytes", "study_uid", "series_uid", "sop_uid", "physician_pseudonym"}
	cols = append(cols, d.ByCategory(configs.CatDerived)...)
	cols = append(cols, d.ByCategory(configs.CatHealth)...)
	return append(cols, d.ByCategory(configs.CatFreeText)...)
}

// IdentityColumns returns the columns of the identity (correspondence) table.
func IdentityColumns(d *configs.Dictionary) []string {
	cols := []string{"pseudonym", "record_id", "batch", "basis_kind"}
	cols = append(cols, d.ByCategory(configs.CatIdentifying)...)
	return append(cols, d.ByCategory(configs.CatImport)...)
}

// GeneticColumns returns the columns of the genetic table.
func GeneticColumns(d *configs.Dictionary) []string {
	return append([]string{"pseudonym", "record_id", "batch"}, d.ByCategory(configs.CatGenetic)...)
}

// ProfessionalColumns returns the columns of the professionals table.
func ProfessionalColumns(d *configs.Dictionary) []string {
	return append([]string{"physician_pseudonym", "batch"}, d.ByCategory(configs.CatProfessional)...)
}

type table struct {
	key   string
	store string
	obj   io.WriteCloser
	hw    *countHash
	tw    *warehouse.TableWriter
}

type countHash struct {
	w    io.Writer
	h    hash.Hash
	size int64
}

func (c *countHash) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.size += int64(n)
	return n, err
}

type tables struct {
	health, identity, genetic, prof *table
	seenProf                        map[string]bool
}

func openTable(ctx context.Context, wh *warehouse.Warehouse, key, store string, dek keys.Secret, cols []string, dry bool) (*table, error) {
	t := &table{key: key, store: store}
	if dry {
		t.obj = nopCloser{io.Discard}
	} else {
		w, err := warehouse.CreateEncrypted(ctx, wh.St, key, dek)
		if err != nil {
			return nil, err
		}
		t.obj = w
	}
	t.hw = &countHash{w: t.obj, h: sha256.New()}
	t.tw = warehouse.NewTableWriter(t.hw, cols)
	return t, nil
}

func openTables(ctx context.Context, wh *warehouse.Warehouse, batch string, deks map[string]keys.Secret, opt Options) (*tables, error) {
	d := opt.Dict
	var ts tables
	var err error
	if ts.health, err = openTable(ctx, wh, warehouse.HealthTableKey(batch), keys.Health, deks[keys.Health], HealthColumns(d), opt.DryRun); err != nil {
		return nil, err
	}
	if ts.identity, err = openTable(ctx, wh, warehouse.IdentityTableKey(batch), keys.Identity, deks[keys.Identity], IdentityColumns(d), opt.DryRun); err != nil {
		ts.abort()
		return nil, err
	}
	if ts.genetic, err = openTable(ctx, wh, warehouse.GeneticTableKey(batch), keys.Genetic, deks[keys.Genetic], GeneticColumns(d), opt.DryRun); err != nil {
		ts.abort()
		return nil, err
	}
	if ts.prof, err = openTable(ctx, wh, warehouse.ProfessionalTableKey(batch), keys.Identity, deks[keys.Identity], ProfessionalColumns(d), opt.DryRun); err != nil {
		ts.abort()
		return nil, err
	}
	ts.seenProf = map[string]bool{}
	return &ts, nil
}

func (ts *tables) all() []*table { return []*table{ts.health, ts.identity, ts.genetic, ts.prof} }

func (ts *tables) add(r *result, batch string, opt Options) error {
	row := r.w.row
	if err := ts.health.tw.WriteMap(r.rec); err != nil {
		return err
	}
	id := map[string]string{"pseudonym": r.pseudo, "record_id": r.rec["record_id"], "batch": batch}
	if row.Basis != "" {
		id["basis_kind"] = row.Basis[:3]
	} else {
		id["basis_kind"] = "IMPORT"
	}
	for _, c := range opt.Dict.ByCategory(configs.CatIdentifying) {
		id[c] = row.Values.Get(c)
	}
	for _, c := range opt.Dict.ByCategory(configs.CatImport) {
		id[c] = row.Values.Get(c)
	}
	if err := ts.identity.tw.WriteMap(id); err != nil {
		return err
	}
	if hasGenetic(row) {
		g := map[string]string{"pseudonym": r.pseudo, "record_id": r.rec["record_id"], "batch": batch}
		for _, c := range opt.Dict.ByCategory(configs.CatGenetic) {
			g[c] = row.Values.Get(c)
		}
		if err := ts.genetic.tw.WriteMap(g); err != nil {
			return err
		}
	}
	if pp := r.rec["physician_pseudonym"]; pp != "" && !ts.seenProf[pp] {
		ts.seenProf[pp] = true
		m := map[string]string{"physician_pseudonym": pp, "batch": batch}
		for _, c := range opt.Dict.ByCategory(configs.CatProfessional) {
			m[c] = row.Values.Get(c)
		}
		if err := ts.prof.tw.WriteMap(m); err != nil {
			return err
		}
	}
	return nil
}

func (ts *tables) abort() {
	for _, t := range ts.all() {
		if t != nil {
			objstore.Abort(t.obj)
		}
	}
}

// close finishes the tables; empty genetic/professional tables are discarded.
func (ts *tables) close() ([]warehouse.ObjectRef, error) {
	var refs []warehouse.ObjectRef
	var errs []error
	for _, t := range ts.all() {
		if t.tw.Rows() == 0 && t != ts.health {
			objstore.Abort(t.obj)
			continue
		}
		if err := t.tw.Close(); err != nil {
			objstore.Abort(t.obj)
			errs = append(errs, err)
			continue
		}
		if err := t.obj.Close(); err != nil {
			errs = append(errs, err)
			continue
		}
		refs = append(refs, warehouse.ObjectRef{Key: t.key, Store: t.store, SHA256: hex.EncodeToString(t.hw.h.Sum(nil)), Size: t.hw.size})
	}
	return refs, errors.Join(errs...)
}

type lease struct {
	Batch   string    `json:"batch"`
	Expires time.Time `json:"expires"`
}

func writeLease(ctx context.Context, wh *warehouse.Warehouse, batch string, exp time.Time) error {
	return warehouse.WriteJSON(ctx, wh.St, warehouse.PendingKey(batch), lease{Batch: batch, Expires: exp.UTC()})
}

// cleanupBatch removes every object of an uncommitted batch (best effort).
func cleanupBatch(ctx context.Context, wh *warehouse.Warehouse, batch string) {
	if _, err := wh.St.Stat(ctx, warehouse.CommitKey(batch)); err == nil {
		return // committed: never touch
	}
	for _, k := range []string{warehouse.HealthTableKey(batch), warehouse.IdentityTableKey(batch),
		warehouse.GeneticTableKey(batch), warehouse.ProfessionalTableKey(batch)} {
		wh.St.Delete(ctx, k)
	}
	// Images of the batch carry the batch id in their token.
	for info, err := range wh.St.List(ctx, "health/images/") {
		if err != nil {
			break
		}
		if strings.Contains(info.Key, "/"+batch+"-") {
			wh.St.Delete(ctx, info.Key)
		}
	}
	wh.St.Delete(ctx, warehouse.BatchKeysKey(batch))
	wh.St.Delete(ctx, warehouse.PendingKey(batch))
}

// RemoveOrphans deletes the objects of batches whose lease expired without
// a commit record (a run killed with SIGKILL). It returns how many.
func RemoveOrphans(ctx context.Context, wh *warehouse.Warehouse, now time.Time) (int, error) {
	var stale []string
	for info, err := range wh.St.List(ctx, "pending/") {
		if err != nil {
			return 0, err
		}
		var l lease
		if err := warehouse.ReadJSON(ctx, wh.St, info.Key, 1<<16, &l); err != nil {
			continue
		}
		if now.After(l.Expires) {
			stale = append(stale, l.Batch)
		}
	}
	for _, b := range stale {
		cleanupBatch(ctx, wh, b)
	}
	return len(stale), nil
}

var _ = fmt.Sprint
