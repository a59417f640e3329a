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
	"hdw/pipeline"
	"hdw/warehouse"
	"hdw/workspaces"
)

// TestCreate_SEC_LOG_6_GeneticOnlyWhenSelected: the genetic table enters a
// workspace only when genetic columns are selected, with the workspace's
// pseudonyms; records keep only the selected columns (SEC-ESP-2).
func TestCreate_SEC_LOG_6_GeneticOnlyWhenSelected(t *testing.T) {
	ctx := context.Background()
	st, err := objstore.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
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
	ing, err := local.Open(ctx, st, keys.ProfileIngest, pass[keys.ProfileIngest])
	if err != nil {
		t.Fatal(err)
	}
	wh, err := warehouse.Open(ctx, st, ing)
	if err != nil {
		t.Fatal(err)
	}
	dict := configs.DefaultDictionary()
	deks, err := wh.NewBatchKeys(ctx, "b1", []string{keys.Health, keys.Genetic}, false)
	if err != nil {
		t.Fatal(err)
	}
	write := func(key, store string, cols []string, row func(i int) map[string]string) {
		w, err := warehouse.CreateEncrypted(ctx, st, key, deks[store])
		if err != nil {
			t.Fatal(err)
		}
		tw := warehouse.NewTableWriter(w, cols)
		for i := range 6 {
			if err := tw.WriteMap(row(i)); err != nil {
				t.Fatal(err)
			}
		}
		if err := tw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	write(warehouse.HealthTableKey("b1"), keys.Health, pipeline.HealthColumns(dict), func(i int) map[string]string {
		return map[string]string{"pseudonym": fmt.Sprintf("WHP%04d", i), "record_id": strconv.Itoa(i), "batch": "b1",
			"diagnosis": []string{"C50", "I10"}[i%2], "modality": "CT"}
	})
	write(warehouse.GeneticTableKey("b1"), keys.Genetic, pipeline.GeneticColumns(dict), func(i int) map[string]string {
		return map[string]string{"pseudonym": fmt.Sprintf("WHP%04d", i), "record_id": strconv.Itoa(i), "batch": "b1", "gene": "BRCA1", "variant": "v" + strconv.Itoa(i)}
	})
	if err := wh.WriteCommit(ctx, warehouse.Commit{Batch: "b1", Objects: []warehouse.ObjectRef{
		{Key: warehouse.HealthTableKey("b1"), Store: keys.Health}, {Key: warehouse.GeneticTableKey("b1"), Store: keys.Genetic}}}); err != nil {
		t.Fatal(err)
	}
	cur, err := local.Open(ctx, st, keys.ProfileCurator, pass[keys.ProfileCurator])
	if err != nil {
		t.Fatal(err)
	}
	whc, err := warehouse.Open(ctx, st, cur)
	if err != nil {
		t.Fatal(err)
	}
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
