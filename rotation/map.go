package rotation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"hdw/keys"
	"hdw/objstore"
	"hdw/tables"
	"hdw/warehouse"
)

// The old-to-new map of a rotation is kept on the identity side, under the
// identity key (the batch's identity data key), one table per batch:
// identity/rotation/v<version>/batch=<id>.parquet with the columns
// old_pseudonym and new_pseudonym. Its record, rotation/v<version>.json,
// says when it was made and when it expires (no identifier in it).

// MapKey returns the object key of a batch's map for a rotation to version.
func MapKey(version int, batch string) string {
	return fmt.Sprintf("%sv%d/batch=%s.parquet", mapPrefix, version, batch)
}

const mapPrefix = "identity/rotation/"

// Record is rotation/v<version>.json.
type Record struct {
	Version int       `json:"version"`
	Started time.Time `json:"started"`
	Expires time.Time `json:"expires"`
}

func recordKey(version int) string { return fmt.Sprintf("rotation/v%d.json", version) }

// writeRecord writes the rotation's record once (a rerun keeps the first).
func writeRecord(ctx context.Context, st objstore.Store, version int, now time.Time, months int) error {
	rec := Record{Version: version, Started: now, Expires: now.AddDate(0, months, 0)}
	data, _ := jsonMarshal(rec)
	err := st.PutIfAbsent(ctx, recordKey(version), bytes.NewReader(data))
	if errors.Is(err, objstore.ErrExist) {
		return nil
	}
	return err
}

var mapSchema = tables.Strings([]string{"old_pseudonym", "new_pseudonym"})

// writeMap writes the map of one identity table (its Parquet bytes).
func writeMap(ctx context.Context, st objstore.Store, key string, dek keys.Secret, identity []byte, carry func(string) string) (int64, error) {
	w, err := tables.Create(ctx, st, key, dek, tables.Envelope, mapSchema)
	if err != nil {
		return 0, err
	}
	seen := map[string]bool{}
	_, err = tables.ScanBytes(ctx, identity, tables.Query{Columns: []string{"pseudonym"}}, func(r *tables.Row) error {
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
// the versions removed.
func ExpireMaps(ctx context.Context, st objstore.Store, now time.Time) ([]int, error) {
	var out []int
	for info, err := range st.List(ctx, "rotation/") {
		if err != nil {
			return out, err
		}
		v, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(info.Key, "rotation/v"), ".json"))
		if err != nil {
			continue
		}
		var rec Record
		if err := objstore.ReadJSON(ctx, st, info.Key, 1<<16, &rec); err != nil {
			return out, err
		}
		if now.Before(rec.Expires) {
			continue
		}
		prefix := fmt.Sprintf("%sv%d/", mapPrefix, v)
		for m, err := range st.List(ctx, prefix) {
			if err != nil {
				return out, err
			}
			if err := st.Delete(ctx, m.Key); err != nil {
				return out, err
			}
		}
		out = append(out, v)
	}
	return out, nil
}

func jsonMarshal(v any) ([]byte, error) { return json.MarshalIndent(v, "", "  ") }
