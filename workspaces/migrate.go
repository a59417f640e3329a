package workspaces

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"hdw/configs"
	"hdw/keys"
	"hdw/objstore"
	"hdw/tables"
	"hdw/warehouse"
)

// Migrate rewrites the tables of every active workspace built before
// issue 17 (all-string columns in the envelope) as typed tables in
// dictionary order with Parquet modular encryption under the workspace
// key, and re-seals each manifest (curator: the workspace pseudonym key
// signs it). Each table is rewritten in place crash-safely; a table
// already in the new layout is left alone, so a cut run is finished by the
// next. It returns the tables migrated and those already typed.
func Migrate(ctx context.Context, wh *warehouse.Warehouse, k Keys, dict *configs.Dictionary) (migrated, typed int, err error) {
	ds, err := List(ctx, wh.St)
	if err != nil {
		return 0, 0, err
	}
	for _, d := range ds {
		if d.Status != "active" {
			continue
		}
		m, t, err := migrateOne(ctx, wh, k, dict, &d)
		migrated, typed = migrated+m, typed+t
		if err != nil {
			return migrated, typed, fmt.Errorf("workspace %s: %w", d.Project, err)
		}
	}
	return migrated, typed, nil
}

func migrateOne(ctx context.Context, wh *warehouse.Warehouse, k Keys, dict *configs.Dictionary, d *Descriptor) (migrated, typed int, err error) {
	var man Manifest
	if err := objstore.ReadJSON(ctx, wh.St, prefix(d.Project)+"manifest.json", 64<<20, &man); err != nil {
		return 0, 0, err
	}
	dek, err := wh.DataKey(ctx, "ws-"+d.Project, keys.Workspace(d.Project))
	if err != nil {
		return 0, 0, err
	}
	defer dek.Wipe()
	var names []string
	for n := range man.Files {
		if isTable(n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		key := prefix(d.Project) + n
		file, modular, err := storedSchema(ctx, wh.St, key, dek)
		if err != nil {
			return migrated, typed, err
		}
		if modular {
			typed++
			continue
		}
		var head, rest []string
		for _, c := range file.Columns() {
			if c == "pseudonym" || c == "image" {
				head = append(head, c)
			} else {
				rest = append(rest, c)
			}
		}
		slices.SortFunc(head, func(a, b string) int { return -strings.Compare(a, b) }) // pseudonym, image
		obj, err := tables.Rewrite(ctx, wh.St, key, dek, keys.Secret{}, tables.Modular,
			tables.FromDictionary(dict, append(head, dictOrder(dict, rest)...)), nil)
		if err != nil {
			return migrated, typed, err
		}
		man.Files[n] = obj.SHA256
		migrated++
		// Re-seal after each table: a cut run leaves a manifest that
		// matches the tables as they are.
		if err := seal(ctx, wh, k, d, &man); err != nil {
			return migrated, typed, err
		}
	}
	return migrated, typed, nil
}

// storedSchema returns the schema of the stored table at key (nil when it
// uses modular encryption: already typed) without reading it whole.
func storedSchema(ctx context.Context, st objstore.Store, key string, dek keys.Secret) (*tables.Schema, bool, error) {
	t, err := tables.OpenObject(ctx, st, key, dek)
	if err != nil {
		return nil, false, err
	}
	defer t.Close()
	if t.Modular() {
		return nil, true, nil
	}
	s, err := tables.SchemaOf(t.Source(), keys.Secret{})
	return s, false, err
}

// seal signs the manifest with the workspace pseudonym key and writes it.
func seal(ctx context.Context, wh *warehouse.Warehouse, k Keys, d *Descriptor, man *Manifest) error {
	ps, err := k.PseudonymKey(ctx, pseudoName(d))
	if err != nil {
		return err
	}
	defer ps.Wipe()
	man.MAC = man.sign(ps.Bytes())
	return objstore.WriteJSON(ctx, wh.St, prefix(d.Project)+"manifest.json", man)
}
