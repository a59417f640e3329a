package pipeline_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"hdw/configs"
	"hdw/keys"
	"hdw/objstore"
	"hdw/pipeline"
	"hdw/tables"
	"hdw/warehouse"
	"hdw/warehouse/warehousetest"
)

// toLegacy turns every committed table of the warehouse into the layout
// written before issue 17 (all-string Parquet, alphabetical columns, in the
// envelope), with commit records to match: a fixture warehouse in today's
// format, generated with that format's writer.
func toLegacy(t *testing.T, e *env) {
	t.Helper()
	cs, err := e.wh.Commits(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		for i, o := range c.Objects {
			if !strings.HasSuffix(o.Key, ".parquet") {
				continue
			}
			dek, err := e.wh.DataKey(e.ctx, c.Batch, o.Store)
			if err != nil {
				t.Fatal(err)
			}
			if c.Objects[i].SHA256, c.Objects[i].Size, err = warehousetest.ToLegacy(e.ctx, e.wh.St, o.Key, dek); err != nil {
				t.Fatal(err)
			}
		}
		if err := objstore.WriteJSON(e.ctx, e.wh.St, warehouse.CommitKey(c.Batch), c); err != nil {
			t.Fatal(err)
		}
	}
}

// snapshot returns every committed table's rows as sorted strings, and
// checks each commit record's hash against the table.
func snapshot(t *testing.T, e *env, wantTyped bool) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	cs, _ := e.wh.Commits(e.ctx)
	for _, c := range cs {
		for _, o := range c.Objects {
			if !strings.HasSuffix(o.Key, ".parquet") {
				continue
			}
			dek, _ := e.wh.DataKey(e.ctx, c.Batch, o.Store)
			data, err := tables.ReadObject(e.ctx, e.wh.St, o.Key, dek)
			if err != nil {
				t.Fatal(err)
			}
			if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != o.SHA256 {
				t.Errorf("%s: commit record hash is not the table's", o.Key)
			}
			s, err := tables.ScanBytes(e.ctx, data, tables.Query{}, func(r *tables.Row) error {
				m := r.Map(nil)
				var kv []string
				for k, v := range m {
					kv = append(kv, k+"="+v)
				}
				sort.Strings(kv)
				out[o.Key] = append(out[o.Key], strings.Join(kv, "|"))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if s.Typed() != wantTyped {
				t.Fatalf("%s typed = %v, want %v", o.Key, s.Typed(), wantTyped)
			}
			if wantTyped && strings.HasPrefix(o.Key, "health/") {
				for c, want := range map[string]tables.Type{"birth_year": tables.Int, "visit_date": tables.Date, "weight_kg": tables.Float, "modality": tables.Enum} {
					if ty, _ := s.Lookup(c); ty != want {
						t.Errorf("%s: %s is %v, want %v", o.Key, c, ty, want)
					}
				}
				if cols := s.Columns(); !slices.Equal(cols, pipeline.HealthColumns(configs.DefaultDictionary())) {
					t.Errorf("%s columns %v, want ingest's order", o.Key, cols)
				}
			}
			sort.Strings(out[o.Key])
		}
	}
	return out
}

// TestIssue17_OldWarehouseReadAndMigrated: a warehouse in the layout of
// before issue 17 is read as it is (ingest, rights and workspaces scan it
// through package tables), and Migrate rewrites it typed, with the same
// rows and amended commit records; a second run changes nothing
// (resumable).
func TestIssue17_OldWarehouseReadAndMigrated(t *testing.T) {
	e := newEnv(t, demoFiles(t))
	if _, err := e.run(t, nil); err != nil {
		t.Fatal(err)
	}
	toLegacy(t, e)
	before := snapshot(t, e, false)
	if len(before) < 3 {
		t.Fatalf("fixture has %d tables", len(before))
	}
	// Read as it is, through the string view too.
	if !bytes.Contains(readStore(t, e, "identity/"), []byte("Dupont")) {
		t.Fatal("legacy identity table not read")
	}
	rep, err := pipeline.Migrate(e.ctx, e.wh, configs.DefaultDictionary())
	if err != nil || rep.Migrated != len(before) || len(rep.Failed) > 0 {
		t.Fatalf("migrate: %v %+v", err, rep)
	}
	after := snapshot(t, e, true)
	for k, rows := range before {
		if fmt.Sprint(after[k]) != fmt.Sprint(rows) {
			t.Errorf("%s changed by the migration:\n%v\n%v", k, rows, after[k])
		}
	}
	rep, err = pipeline.Migrate(e.ctx, e.wh, configs.DefaultDictionary())
	if err != nil || rep.Migrated != 0 || rep.Typed != len(before) || len(rep.Batches) != 0 {
		t.Fatalf("rerun: %v %+v", err, rep)
	}
}

var _ = keys.Health

// Issue 17: a value that fails its dictionary type (a weight "abc") is a
// manifest error naming file, row and column, never the value; typed
// columns are checked before anything is stored.
func TestIssue17_TypedValueIsManifestError(t *testing.T) {
	csv := "file,last_name,first_name,birth_date,sex,weight_kg,height_cm,visit_date\n" +
		"a.dcm,Dupont,Jean,1960-03-14,M,71.5,180,2024-03-02\n" +
		"b.dcm,Dupont,Jean,1960-03-14,M,abc71,180,2024-03-02\n" +
		"c.dcm,Dupont,Jean,1960-03-14,M,70,1m80,2024-03-02\n" +
		"d.dcm,Dupont,Jean,1960-03-14,M,70,180,02/03/2024\n"
	rows, errs, err := readAll(t, csv)
	if err != nil || len(rows) != 1 || len(errs) != 3 {
		t.Fatalf("rows %d errs %v err %v", len(rows), errs, err)
	}
	for i, want := range []string{"manifest.csv row 2 column weight_kg", "manifest.csv row 3 column height_cm", "manifest.csv row 4 column visit_date"} {
		msg := errs[i].Error()
		if !strings.HasPrefix(msg, want) || strings.Contains(msg, "abc71") || strings.Contains(msg, "1m80") || strings.Contains(msg, "02/03/2024") {
			t.Errorf("error %q, want %q... without the value", msg, want)
		}
	}
}
