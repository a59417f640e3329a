package pipeline

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"time"

	"hdw/configs"
	"hdw/keys"
	"hdw/objstore"
	"hdw/tables"
	"hdw/warehouse"
)

// inOrder returns the dictionary's columns of the given categories, in
// dictionary order (issue 17: a researcher sees the dictionary's order).
func inOrder(d *configs.Dictionary, cats ...string) []string {
	var out []string
	for _, c := range d.Columns {
		if slices.Contains(cats, c.Category) {
			out = append(out, c.Name)
		}
	}
	return out
}

// HealthColumns returns the columns of the health records table: hdw's
// fixed columns, then the dictionary's health, free-text and derived
// columns in dictionary order.
func HealthColumns(d *configs.Dictionary) []string {
	cols := []string{"record_id", "pseudonym", "batch", "collected", "import", "image_key", "image_format",
		"image_sha256", "image_bytes", "study_uid", "series_uid", "sop_uid", "physician_pseudonym"}
	return append(cols, inOrder(d, configs.CatHealth, configs.CatFreeText, configs.CatDerived)...)
}

// IdentityColumns returns the columns of the identity (correspondence) table.
func IdentityColumns(d *configs.Dictionary) []string {
	cols := []string{"pseudonym", "record_id", "batch", "basis_kind"}
	return append(cols, inOrder(d, configs.CatIdentifying, configs.CatImport)...)
}

// GeneticColumns returns the columns of the genetic table.
func GeneticColumns(d *configs.Dictionary) []string {
	return append([]string{"pseudonym", "record_id", "batch"}, d.ByCategory(configs.CatGenetic)...)
}

// ProfessionalColumns returns the columns of the professionals table.
func ProfessionalColumns(d *configs.Dictionary) []string {
	return append([]string{"physician_pseudonym", "batch"}, d.ByCategory(configs.CatProfessional)...)
}

// HealthSchema is the typed schema of the health records table (issue 17:
// typed from the dictionary).
func HealthSchema(d *configs.Dictionary) *tables.Schema {
	return tables.FromDictionary(d, HealthColumns(d))
}

// IdentitySchema is the typed schema of the identity table.
func IdentitySchema(d *configs.Dictionary) *tables.Schema {
	return tables.FromDictionary(d, IdentityColumns(d))
}

// GeneticSchema is the typed schema of the genetic table.
func GeneticSchema(d *configs.Dictionary) *tables.Schema {
	return tables.FromDictionary(d, GeneticColumns(d))
}

// ProfessionalSchema is the typed schema of the professionals table.
func ProfessionalSchema(d *configs.Dictionary) *tables.Schema {
	return tables.FromDictionary(d, ProfessionalColumns(d))
}

// table is one table of a batch being written (envelope-encrypted under
// its store's batch data key: SEC-LOG-4..6 keep each store in its own
// files under its own key).
type table struct {
	key   string
	store string
	ow    *tables.ObjectWriter // nil in a dry run
	tw    *tables.Writer
}

type batchTables struct {
	health, identity, genetic, prof *table
	seenProf                        map[string]bool
}

func openTable(ctx context.Context, wh *warehouse.Warehouse, key, store string, dek keys.Secret, s *tables.Schema, dry bool) (*table, error) {
	t := &table{key: key, store: store}
	if dry {
		tw, err := tables.NewWriter(io.Discard, s, tables.WriterOptions{})
		if err != nil {
			return nil, err
		}
		t.tw = tw
		return t, nil
	}
	ow, err := tables.Create(ctx, wh.St, key, dek, tables.Envelope, s)
	if err != nil {
		return nil, err
	}
	t.ow, t.tw = ow, ow.Writer
	return t, nil
}

func openTables(ctx context.Context, wh *warehouse.Warehouse, batch string, deks map[string]keys.Secret, opt Options) (*batchTables, error) {
	d := opt.Dict
	var ts batchTables
	var err error
	if ts.health, err = openTable(ctx, wh, warehouse.HealthTableKey(batch), keys.Health, deks[keys.Health], HealthSchema(d), opt.DryRun); err != nil {
		return nil, err
	}
	if ts.identity, err = openTable(ctx, wh, warehouse.IdentityTableKey(batch), keys.Identity, deks[keys.Identity], IdentitySchema(d), opt.DryRun); err != nil {
		ts.abort()
		return nil, err
	}
	if ts.genetic, err = openTable(ctx, wh, warehouse.GeneticTableKey(batch), keys.Genetic, deks[keys.Genetic], GeneticSchema(d), opt.DryRun); err != nil {
		ts.abort()
		return nil, err
	}
	if ts.prof, err = openTable(ctx, wh, warehouse.ProfessionalTableKey(batch), keys.Identity, deks[keys.Identity], ProfessionalSchema(d), opt.DryRun); err != nil {
		ts.abort()
		return nil, err
	}
	ts.seenProf = map[string]bool{}
	return &ts, nil
}

func (ts *batchTables) all() []*table { return []*table{ts.health, ts.identity, ts.genetic, ts.prof} }

func (ts *batchTables) add(r *result, batch string, opt Options) error {
	row := r.w.row
	if err := ts.health.tw.AppendMap(r.rec); err != nil {
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
	if err := ts.identity.tw.AppendMap(id); err != nil {
		return err
	}
	if hasGenetic(row) {
		g := map[string]string{"pseudonym": r.pseudo, "record_id": r.rec["record_id"], "batch": batch}
		for _, c := range opt.Dict.ByCategory(configs.CatGenetic) {
			g[c] = row.Values.Get(c)
		}
		if err := ts.genetic.tw.AppendMap(g); err != nil {
			return err
		}
	}
	if pp := r.rec["physician_pseudonym"]; pp != "" && !ts.seenProf[pp] {
		ts.seenProf[pp] = true
		m := map[string]string{"physician_pseudonym": pp, "batch": batch}
		for _, c := range opt.Dict.ByCategory(configs.CatProfessional) {
			m[c] = row.Values.Get(c)
		}
		if err := ts.prof.tw.AppendMap(m); err != nil {
			return err
		}
	}
	return nil
}

func (ts *batchTables) abort() {
	for _, t := range ts.all() {
		if t != nil && t.ow != nil {
			t.ow.Abort()
		}
	}
}

// close finishes the tables; empty genetic/professional tables are discarded.
func (ts *batchTables) close() ([]warehouse.ObjectRef, error) {
	var refs []warehouse.ObjectRef
	var errs []error
	for _, t := range ts.all() {
		if t.ow == nil { // dry run
			errs = append(errs, t.tw.Close())
			continue
		}
		if t.tw.Rows() == 0 && t != ts.health {
			t.ow.Abort()
			continue
		}
		o, err := t.ow.Close()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		refs = append(refs, warehouse.ObjectRef{Key: t.key, Store: t.store, SHA256: o.SHA256, Size: o.Size})
	}
	return refs, errors.Join(errs...)
}

type lease struct {
	Batch   string    `json:"batch"`
	Expires time.Time `json:"expires"`
}

func writeLease(ctx context.Context, wh *warehouse.Warehouse, batch string, exp time.Time) error {
	return objstore.WriteJSON(ctx, wh.St, warehouse.PendingKey(batch), lease{Batch: batch, Expires: exp.UTC()})
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
		if err := objstore.ReadJSON(ctx, wh.St, info.Key, 1<<16, &l); err != nil {
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
