package export

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"

	"github.com/apache/arrow/go/v17/arrow"

	"hdw/configs"
	"hdw/keys"
	"hdw/objstore"
	"hdw/tables"
	"hdw/warehouse"
)

// HealthColumns are the columns of the health table an export reads: the
// record's own (pseudonym, ids, free text, which the gate keeps out of a
// release) and the dictionary's health and derived columns.
func HealthColumns(d *configs.Dictionary) []string {
	cols := []string{"pseudonym", "record_id", "batch", "collected", "study_uid", "sop_uid", "notes"}
	for _, c := range d.Columns {
		if c.Category == "health" || c.Category == "derived" {
			cols = append(cols, c.Name)
		}
	}
	return cols
}

// HealthTable reads the health records of every committed batch through
// the typed table layer: as rows for the gate (RowSource) or projected on
// the pseudonym and a few columns for an indicator (Scan).
var (
	_ RecordSource = (*HealthTable)(nil)
	_ RecordSource = (*WorkspaceTable)(nil)
)

type HealthTable struct {
	wh   *warehouse.Warehouse
	cols []string
}

// HealthSource is the health table of wh with the columns cols.
func HealthSource(wh *warehouse.Warehouse, cols []string) *HealthTable {
	return &HealthTable{wh: wh, cols: cols}
}

// Columns are the columns Rows gives.
func (h *HealthTable) Columns() []string { return h.cols }

// Rows calls fn with every record (the map is reused between calls).
func (h *HealthTable) Rows(ctx context.Context, fn func(map[string]string) error) error {
	m := map[string]string{}
	return h.scan(ctx, tables.Query{}, func(r *tables.Row) error { return fn(r.Map(m)) })
}

// Scan calls fn with every record's pseudonym and the values of cols.
func (h *HealthTable) Scan(ctx context.Context, cols []string, fn func(string, []string) error) error {
	return h.scan(ctx, tables.Query{Columns: append([]string{"pseudonym"}, cols...)}, projected(cols, fn))
}

// Records streams the typed record batches projected on cols (a
// [RecordSource]: the gate and indicators count on typed arrays), the
// columns decoded concurrently.
func (h *HealthTable) Records(ctx context.Context, cols []string, fn func(arrow.Record) error) error {
	q := tables.Query{Columns: cols, Parallel: true}
	return h.each(ctx, func(key string, dek keys.Secret) (*tables.Schema, error) {
		return tables.RecordsObject(ctx, h.wh.St, key, dek, q, fn)
	})
}

// HashedRecords streams the typed record batches projected on the
// pseudonym and cols, the pseudonym read as its keyed hash with seed
// ([tables.RecordsObjectHashed]): what an indicator reads
// (indicators.HashedRecordRows), no pseudonym held as a string.
func (h *HealthTable) HashedRecords(ctx context.Context, cols []string, seed maphash.Seed, fn func(arrow.Record) error) error {
	q := tables.Query{Columns: append([]string{"pseudonym"}, cols...), Parallel: true}
	return h.each(ctx, func(key string, dek keys.Secret) (*tables.Schema, error) {
		return tables.RecordsObjectHashed(ctx, h.wh.St, key, dek, q, "pseudonym", seed, fn)
	})
}

func (h *HealthTable) scan(ctx context.Context, q tables.Query, fn func(*tables.Row) error) error {
	return h.each(ctx, func(key string, dek keys.Secret) (*tables.Schema, error) {
		return tables.ScanObject(ctx, h.wh.St, key, dek, q, fn)
	})
}

// each reads every committed batch's health table with read (a table
// listed but gone, erased meanwhile, is passed over).
func (h *HealthTable) each(ctx context.Context, read func(key string, dek keys.Secret) (*tables.Schema, error)) error {
	return h.wh.EachHealthTable(ctx, nil, func(_ warehouse.Commit, key string, dek keys.Secret) error {
		if _, err := read(key, dek); err != nil && !errors.Is(err, objstore.ErrNotExist) {
			return err
		}
		return nil
	})
}

// projected adapts fn(pseudonym, values of cols) to a row callback.
func projected(cols []string, fn func(string, []string) error) func(*tables.Row) error {
	vals := make([]string, len(cols))
	return func(r *tables.Row) error {
		for i, c := range cols {
			vals[i] = r.Get(c)
		}
		return fn(r.Get("pseudonym"), vals)
	}
}

// WorkspaceSource reads one table of a workspace (Parquet modular
// encryption under the workspace's data key, or the envelope of a
// workspace built before issue 17), its own pseudonyms as the person
// column, streamed: never the whole table in memory. Its Close wipes the
// workspace key it holds.
func WorkspaceSource(ctx context.Context, wh *warehouse.Warehouse, project, table string) (*WorkspaceTable, error) {
	dek, err := wh.DataKey(ctx, "ws-"+project, keys.Workspace(project))
	if err != nil {
		return nil, fmt.Errorf("workspace %s: %w", project, err)
	}
	w := &WorkspaceTable{st: wh.St, key: "workspaces/" + project + "/" + table + ".parquet", dek: dek}
	// The schema alone: a projection on no column of the file reads no row.
	s, err := tables.RecordsObject(ctx, w.st, w.key, dek, tables.Query{Columns: []string{"\x00"}}, nil)
	if err != nil {
		dek.Wipe()
		return nil, fmt.Errorf("workspace %s table %s: %w", project, table, err)
	}
	w.cols = s.Columns()
	return w, nil
}

// WorkspaceTable is one table of a workspace, read like HealthTable.
type WorkspaceTable struct {
	st   objstore.Store
	key  string
	dek  keys.Secret
	cols []string
}

// Columns are the table's columns.
func (w *WorkspaceTable) Columns() []string { return w.cols }

// Rows calls fn with every record (the map is reused between calls).
func (w *WorkspaceTable) Rows(ctx context.Context, fn func(map[string]string) error) error {
	m := map[string]string{}
	_, err := tables.ScanObject(ctx, w.st, w.key, w.dek, tables.Query{}, func(r *tables.Row) error { return fn(r.Map(m)) })
	return err
}

// Scan calls fn with every record's (workspace) pseudonym and the values of cols.
func (w *WorkspaceTable) Scan(ctx context.Context, cols []string, fn func(string, []string) error) error {
	_, err := tables.ScanObject(ctx, w.st, w.key, w.dek, tables.Query{Columns: append([]string{"pseudonym"}, cols...)}, projected(cols, fn))
	return err
}

// Records streams the typed record batches projected on cols.
func (w *WorkspaceTable) Records(ctx context.Context, cols []string, fn func(arrow.Record) error) error {
	_, err := tables.RecordsObject(ctx, w.st, w.key, w.dek, tables.Query{Columns: cols, Parallel: true}, fn)
	return err
}

// HashedRecords is [HealthTable.HashedRecords] over the workspace table
// (its own pseudonyms hashed).
func (w *WorkspaceTable) HashedRecords(ctx context.Context, cols []string, seed maphash.Seed, fn func(arrow.Record) error) error {
	q := tables.Query{Columns: append([]string{"pseudonym"}, cols...), Parallel: true}
	_, err := tables.RecordsObjectHashed(ctx, w.st, w.key, w.dek, q, "pseudonym", seed, fn)
	return err
}

// Close wipes the workspace data key.
func (w *WorkspaceTable) Close() { w.dek.Wipe() }

// HasWorkspace reports whether project has a workspace.
func HasWorkspace(ctx context.Context, s objstore.Store, project string) bool {
	for info, err := range s.List(ctx, "workspaces/"+project+"/") {
		return err == nil && info.Key != ""
	}
	return false
}
