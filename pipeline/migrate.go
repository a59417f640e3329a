package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"hdw/configs"
	"hdw/keys"
	"hdw/objstore"
	"hdw/tables"
	"hdw/warehouse"
)

// MigrateReport counts what [Migrate] did, per table.
type MigrateReport struct {
	Migrated int `json:"migrated"` // rewritten with typed columns
	Typed    int `json:"typed"`    // already typed (a rerun)
	// Skipped are tables of stores whose key the profile may not use
	// (SEC-LOG-4..6: each store under its own key): run migrate again
	// under a profile that holds it (curator: health, genetic; dpo: identity).
	Skipped map[string]int `json:"skipped,omitempty"`
	// Failed are tables left as they were, with the reason (object key,
	// row, column: never a value).
	Failed  []string `json:"failed,omitempty"`
	Batches []string `json:"batches_amended,omitempty"`
}

// layoutFor returns the typed schema for a warehouse table of today's
// all-string layout: the columns of ingest's table of that kind, in its
// order, then any other column the file has (typed from the dictionary).
func layoutFor(d *configs.Dictionary, key string, file *tables.Schema) *tables.Schema {
	var cols []string
	switch {
	case strings.HasPrefix(key, "health/records/"):
		cols = HealthColumns(d)
	case strings.HasPrefix(key, "identity/professionals/"):
		cols = ProfessionalColumns(d)
	case strings.HasPrefix(key, "identity/"):
		cols = IdentityColumns(d)
	case strings.HasPrefix(key, "genetic/"):
		cols = GeneticColumns(d)
	}
	have := file.Columns()
	out := slices.DeleteFunc(slices.Clone(cols), func(c string) bool { return !slices.Contains(have, c) })
	for _, c := range have {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return tables.FromDictionary(d, out)
}

// Migrate rewrites the warehouse tables of the layout written before
// issue 17 (every column a string) with the dictionary's types, each one in
// place through [tables.Rewrite] (crash-safe: old or new table), and
// amends the commit records with the new hashes. It is resumable: a table
// already typed is left alone (its commit record entry is still checked),
// so a run cut at any point is finished by the next. Tables of stores
// whose key the profile cannot unwrap are skipped and counted.
func Migrate(ctx context.Context, wh *warehouse.Warehouse, d *configs.Dictionary) (*MigrateReport, error) {
	rep := &MigrateReport{Skipped: map[string]int{}}
	commits, err := wh.Commits(ctx)
	if err != nil {
		return rep, err
	}
	for _, c := range commits {
		changed := false
		deks := map[string]keys.Secret{}
		for i, o := range c.Objects {
			if !strings.HasSuffix(o.Key, ".parquet") {
				continue
			}
			dek, ok := deks[o.Store]
			if !ok {
				if dek, err = wh.DataKey(ctx, c.Batch, o.Store); err != nil {
					if errors.Is(err, keys.ErrForbidden) || errors.Is(err, keys.ErrKeyNotFound) {
						rep.Skipped[o.Store]++
						continue
					}
					return rep, fmt.Errorf("data key of batch %s for the %s store: %w", c.Batch, o.Store, err)
				}
				deks[o.Store] = dek
			}
			file, sum, size, err := typedSum(ctx, wh.St, o.Key, dek)
			if err != nil {
				rep.Failed = append(rep.Failed, fmt.Sprintf("%s: %v", o.Key, err))
				continue
			}
			ref := o
			if file.Typed() {
				rep.Typed++
				ref.SHA256, ref.Size = sum, size
			} else {
				obj, err := tables.Rewrite(ctx, wh.St, o.Key, dek, keys.Secret{}, tables.Envelope, layoutFor(d, o.Key, file), nil)
				if err != nil {
					rep.Failed = append(rep.Failed, err.Error())
					continue
				}
				rep.Migrated++
				ref.SHA256, ref.Size = obj.SHA256, obj.Size
			}
			if ref != o {
				c.Objects[i], changed = ref, true
			}
		}
		for _, k := range deks {
			k.Wipe()
		}
		if changed {
			if err := objstore.WriteJSON(ctx, wh.St, warehouse.CommitKey(c.Batch), c); err != nil {
				return rep, fmt.Errorf("amend the commit record of batch %s: %w", c.Batch, err)
			}
			rep.Batches = append(rep.Batches, c.Batch)
		}
	}
	return rep, nil
}

// typedSum returns the schema of the stored table at key and, when it is
// already typed, the hash and size of its Parquet bytes, without reading
// it whole.
func typedSum(ctx context.Context, st objstore.Store, key string, dek keys.Secret) (*tables.Schema, string, int64, error) {
	t, err := tables.OpenObject(ctx, st, key, dek)
	if err != nil {
		return nil, "", 0, err
	}
	defer t.Close()
	file, err := tables.SchemaOf(t.Source(), keys.Secret{})
	if err != nil || !file.Typed() {
		return file, "", 0, err
	}
	sum, size, err := t.SHA256()
	return file, sum, size, err
}
