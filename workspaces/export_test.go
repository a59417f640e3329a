package workspaces

import (
	"context"
	"crypto/sha256"
	"encoding/hex"

	"hdw/keys"
	"hdw/objstore"
	"hdw/tables"
	"hdw/tables/tablestest"
	"hdw/warehouse"
)

// ToLegacyForTest rewrites a workspace's tables as hdw wrote them before
// issue 17 (all-string Parquet in the envelope, alphabetical columns) and
// re-seals its manifest: a fixture workspace in that format.
func ToLegacyForTest(ctx context.Context, wh *warehouse.Warehouse, k Keys, project string) error {
	d, err := Load(ctx, wh.St, project)
	if err != nil {
		return err
	}
	var man Manifest
	if err := objstore.ReadJSON(ctx, wh.St, prefix(project)+"manifest.json", 64<<20, &man); err != nil {
		return err
	}
	dek, err := wh.DataKey(ctx, "ws-"+project, keys.Workspace(project))
	if err != nil {
		return err
	}
	defer dek.Wipe()
	for n := range man.Files {
		if !isTable(n) {
			continue
		}
		var rows [][]string
		s, err := tables.ScanObject(ctx, wh.St, prefix(project)+n, dek, tables.Query{}, func(r *tables.Row) error {
			var vals []string
			for _, c := range r.Columns() {
				vals = append(vals, r.Get(c))
			}
			rows = append(rows, vals)
			return nil
		})
		if err != nil {
			return err
		}
		data, err := tablestest.Legacy(s.Columns(), rows)
		if err != nil {
			return err
		}
		w, err := warehouse.CreateEncrypted(ctx, wh.St, prefix(project)+n, dek)
		if err != nil {
			return err
		}
		w.Write(data)
		if err := w.Close(); err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		man.Files[n] = hex.EncodeToString(sum[:])
	}
	return seal(ctx, wh, k, d, &man)
}
