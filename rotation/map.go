package rotation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"hdw/keys"
	"hdw/objstore"
	"hdw/rights"
	"hdw/tables"
	"hdw/warehouse"
)

// The old-to-new map of a rotation is kept on the identity side, under the
// identity key (the batch's identity data key), one table per batch:
// identity/rotation/v<version>/batch=<id>.parquet with the columns
// old_pseudonym and new_pseudonym. Its record, rotation/v<version>.json,
// says when it was made and when it expires (no identifier in it).

// MapKey returns the object key of a batch's map for a rotation to version.
func MapKey(version int, batch string) string { return warehouse.RotationMapKey(version, batch) }

const mapPrefix = warehouse.RotationMapPrefix

// writeRecord writes the rotation's record once (a rerun keeps the first).
func writeRecord(ctx context.Context, st objstore.Store, version int, now time.Time, months int) error {
	rec := warehouse.RotationRecord{Version: version, Started: now, Expires: now.AddDate(0, months, 0)}
	data, _ := json.MarshalIndent(rec, "", "  ")
	err := st.PutIfAbsent(ctx, warehouse.RotationRecordKey(version), bytes.NewReader(data))
	if errors.Is(err, objstore.ErrExist) {
		return nil
	}
	return err
}

var mapSchema = tables.Strings([]string{"old_pseudonym", "new_pseudonym"})

// writeMap writes the map of the identity table stored at identity (both
// under dek), scanned row group by row group.
func writeMap(ctx context.Context, st objstore.Store, key string, dek keys.Secret, identity string, carry func(string) string) (int64, error) {
	w, err := tables.Create(ctx, st, key, dek, tables.Envelope, mapSchema)
	if err != nil {
		return 0, err
	}
	seen := map[string]bool{}
	_, err = tables.ScanObject(ctx, st, identity, dek, tables.Query{Columns: []string{"pseudonym"}}, func(r *tables.Row) error {
		p := r.Get("pseudonym")
		if p == "" || seen[p] {
			return nil
		}
		seen[p] = true
		return w.Append([]string{p, carry(p)})
	})
	if err != nil {
		w.Abort()
		return 0, err
	}
	o, err := w.Close()
	return o.Rows, err
}

// ReadMap calls fn with every old -> new pair of the rotation to version
// (the dpo: identity key), batch by batch.
func ReadMap(ctx context.Context, wh *warehouse.Warehouse, version int, fn func(old, new string) error) error {
	prefix := fmt.Sprintf("%sv%d/", mapPrefix, version)
	for info, err := range wh.St.List(ctx, prefix) {
		if err != nil {
			return err
		}
		batch := strings.TrimSuffix(strings.TrimPrefix(info.Key, prefix+"batch="), ".parquet")
		dek, err := wh.DataKey(ctx, batch, keys.Identity)
		if err != nil {
			return err
		}
		_, err = tables.ScanObject(ctx, wh.St, info.Key, dek, tables.Query{}, func(r *tables.Row) error {
			return fn(r.Get("old_pseudonym"), r.Get("new_pseudonym"))
		})
		dek.Wipe()
		if err != nil {
			return err
		}
	}
	return nil
}

// Reverse returns the pseudonym that new replaced in the rotation to
// version, from the map (the dpo answering for an old pseudonym, a
// workspace owner's notice); ok is false when the map has no such entry or
// has expired.
func Reverse(ctx context.Context, wh *warehouse.Warehouse, version int, new string) (old string, ok bool, err error) {
	stop := errors.New("found")
	err = ReadMap(ctx, wh, version, func(o, n string) error {
		if n == new {
			old, ok = o, true
			return stop
		}
		return nil
	})
	if errors.Is(err, stop) {
		err = nil
	}
	return old, ok, err
}

// ExpireMaps removes the maps whose record has expired at now, and returns
// the versions removed (rights.ExpireRotationMaps; hdw retention apply
// does the same).
func ExpireMaps(ctx context.Context, st objstore.Store, now time.Time) ([]int, error) {
	return rights.ExpireRotationMaps(ctx, st, now, false)
}
