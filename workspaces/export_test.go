package workspaces

import (
	"context"

	"hdw/keys"
	"hdw/objstore"
	"hdw/warehouse"
	"hdw/warehouse/warehousetest"
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
		sum, _, err := warehousetest.ToLegacy(ctx, wh.St, prefix(project)+n, dek)
		if err != nil {
			return err
		}
		man.Files[n] = sum
	}
	return seal(ctx, wh, k, d, &man)
}
