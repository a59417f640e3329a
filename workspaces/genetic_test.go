package workspaces_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"hdw/configs"
	"hdw/keys"
	"hdw/keys/local"
	"hdw/objstore"
	"hdw/objstore/storetest"
	"hdw/pipeline"
	"hdw/tables"
	"hdw/warehouse"
	"hdw/workspaces"
)

type testWarehouse struct {
	st  objstore.Store
	ing *warehouse.Warehouse
	cur workspaces.Keys
	whc *warehouse.Warehouse
}

// newTestWarehouse builds a local-keyring warehouse with no batch.
func newTestWarehouse(t testing.TB) *testWarehouse {
	t.Helper()
	ctx := context.Background()
	st := storetest.Local(t, t.TempDir())
	pass := map[string][]byte{}
	for _, p := range local.WarehouseProfiles {
		pass[p] = []byte("test passphrase " + p)
	}
	if err := local.Init(ctx, st, pass); err != nil {
		t.Fatal(err)
	}
	if err := warehouse.Create(ctx, st, warehouse.Descriptor{ID: "t", KeyProvider: "local"}); err != nil {
		t.Fatal(err)
	}
	open := func(profile string) (*local.Keyring, *warehouse.Warehouse) {
		k, err := local.Open(ctx, st, profile, pass[profile])
		if err != nil {
			t.Fatal(err)
		}
		wh, err := warehouse.Open(ctx, st, k)
		if err != nil {
			t.Fatal(err)
		}
		return k, wh
	}
	_, wh := open(keys.ProfileIngest)
	cur, whc := open(keys.ProfileCurator)
	return &testWarehouse{st: st, ing: wh, cur: cur, whc: whc}
}

// batch commits health and genetic rows for warehouse patients ids
// (record ids batch-i); even ids have C50.
func (w *testWarehouse) batch(t *testing.T, batch string, ids []int) {
	t.Helper()
	ctx := context.Background()
	dict := configs.DefaultDictionary()
	deks, err := w.ing.NewBatchKeys(ctx, batch, []string{keys.Health, keys.Genetic}, false)
	if err != nil {
		t.Fatal(err)
	}
	write := func(key, store string, schema *tables.Schema, row func(i int) map[string]string) {
		ow, err := tables.Create(ctx, w.st, key, deks[store], tables.Envelope, schema)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range ids {
			if err := ow.AppendMap(row(i)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := ow.Close(); err != nil {
			t.Fatal(err)
		}
	}
	write(warehouse.HealthTableKey(batch), keys.Health, pipeline.HealthSchema(dict), func(i int) map[string]string {
		return map[string]string{"pseudonym": fmt.Sprintf("WHP%04d", i), "record_id": batch + "-" + strconv.Itoa(i), "batch": batch,
			"diagnosis": []string{"C50", "I10"}[i%2], "modality": "CT"}
	})
	write(warehouse.GeneticTableKey(batch), keys.Genetic, pipeline.GeneticSchema(dict), func(i int) map[string]string {
		return map[string]string{"pseudonym": fmt.Sprintf("WHP%04d", i), "record_id": batch + "-" + strconv.Itoa(i), "batch": batch, "gene": "BRCA1", "variant": "v" + strconv.Itoa(i)}
	})
	if err := w.ing.WriteCommit(ctx, warehouse.Commit{Batch: batch, Objects: []warehouse.ObjectRef{
		{Key: warehouse.HealthTableKey(batch), Store: keys.Health}, {Key: warehouse.GeneticTableKey(batch), Store: keys.Genetic}}}); err != nil {
		t.Fatal(err)
	}
}

// pseudonyms reads the workspace records table: pseudonym -> rows.
func (w *testWarehouse) pseudonyms(t *testing.T, project string) map[string]int {
	t.Helper()
	ctx := context.Background()
	wdek, err := w.whc.DataKey(ctx, "ws-"+project, keys.Workspace(project))
	if err != nil {
		t.Fatal(err)
	}
	ps := map[string]int{}
	if _, err := warehouse.ReadEncryptedTable(ctx, w.st, "workspaces/"+project+"/records.parquet", wdek, func(m map[string]string) error {
		ps[m["pseudonym"]]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return ps
}

// TestRefresh_SEC_ESP_3_StablePseudonyms: refresh adds the matching rows of
// a later batch; a patient already in the workspace keeps its pseudonym.
func TestRefresh_SEC_ESP_3_StablePseudonyms(t *testing.T) {
	ctx := context.Background()
	w := newTestWarehouse(t)
	w.batch(t, "b1", []int{0, 1, 2, 3})
	dict := configs.DefaultDictionary()
	d, err := workspaces.Create(ctx, w.whc, w.cur, workspaces.Spec{Project: "r", Approval: "CSE-R", Columns: []string{"diagnosis"},
		Where: "diagnosis = 'C50'", Dict: dict, Now: time.Now()})
	if err != nil || d.Rows != 2 {
		t.Fatalf("create: %v rows %d", err, d.Rows)
	}
	before := w.pseudonyms(t, "r")
	w.batch(t, "b2", []int{0, 4, 5})
	d, added, err := workspaces.Refresh(ctx, w.whc, w.cur, "r", dict)
	if err != nil || added != 2 || d.Rows != 4 {
		t.Fatalf("refresh: %v added %d rows %d", err, added, d.Rows)
	}
	after := w.pseudonyms(t, "r")
	for p := range before {
		if after[p] == 0 {
			t.Fatal("SEC-ESP-3: refresh changed a pseudonym")
		}
	}
	if len(after) != 3 || d.Patients != 3 {
		t.Fatalf("patients %d (%d)", len(after), d.Patients)
	}
	if probs, err := workspaces.Verify(ctx, w.whc, w.cur, "r"); err != nil || len(probs) != 0 {
		t.Fatalf("verify after refresh: %v %v", probs, err)
	}
}

// TestCreate_SEC_LOG_6_GeneticOnlyWhenSelected: the genetic table enters a
// workspace only when genetic columns are selected, with the workspace's
// pseudonyms; records keep only the selected columns (SEC-ESP-2).
func TestCreate_SEC_LOG_6_GeneticOnlyWhenSelected(t *testing.T) {
	ctx := context.Background()
	w := newTestWarehouse(t)
	w.batch(t, "b1", []int{0, 1, 2, 3, 4, 5})
	dict := configs.DefaultDictionary()
	st, whc, cur := w.st, w.whc, w.cur
	tests := []struct {
		project string
		columns []string
		genetic int
	}{
		{"nogene", []string{"diagnosis"}, 0},
		{"gene", []string{"diagnosis", "gene", "variant"}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.project, func(t *testing.T) {
			d, err := workspaces.Create(ctx, whc, cur, workspaces.Spec{Project: tt.project, Approval: "CSE-T", Columns: tt.columns,
				Where: "diagnosis = 'C50'", Dict: dict, Now: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			if d.Rows != 3 || d.Patients != 3 {
				t.Fatalf("rows %d patients %d", d.Rows, d.Patients)
			}
			wdek, err := whc.DataKey(ctx, "ws-"+tt.project, keys.Workspace(tt.project))
			if err != nil {
				t.Fatal(err)
			}
			ps := map[string]bool{}
			cols, err := warehouse.ReadEncryptedTable(ctx, st, "workspaces/"+tt.project+"/records.parquet", wdek, func(m map[string]string) error {
				ps[m["pseudonym"]] = true
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(cols) != "[diagnosis image pseudonym]" && fmt.Sprint(cols) != "[pseudonym image diagnosis]" {
				t.Fatalf("SEC-ESP-2: record columns %v", cols)
			}
			n := 0
			_, err = warehouse.ReadEncryptedTable(ctx, st, "workspaces/"+tt.project+"/genetic.parquet", wdek, func(m map[string]string) error {
				n++
				if !ps[m["pseudonym"]] || m["gene"] != "BRCA1" {
					t.Fatal("SEC-LOG-6: genetic row without the workspace pseudonym")
				}
				return nil
			})
			if tt.genetic == 0 {
				if !errors.Is(err, objstore.ErrNotExist) {
					t.Fatalf("SEC-LOG-6: genetic table present without genetic columns (%v)", err)
				}
				return
			}
			if err != nil || n != tt.genetic {
				t.Fatalf("genetic rows %d, err %v", n, err)
			}
			probs, err := workspaces.Verify(ctx, whc, cur, tt.project)
			if err != nil || len(probs) != 0 {
				t.Fatalf("verify: %v %v", probs, err)
			}
		})
	}
}
