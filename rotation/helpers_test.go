package rotation_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"hdw/keys"
	"hdw/keys/keystest"
	"hdw/masking"
	"hdw/masking/maskingtest"
	"hdw/objstore"
	"hdw/pipeline"
	"hdw/pseudo"
	"hdw/synth"
	"hdw/tables"
	"hdw/warehouse"
	"hdw/warehouse/warehousetest"
)

// prov is the profile p's view of a key service shared with the child
// processes of the kill test, the warehouse pseudonym key at version v.
func prov(p string, v int) keystest.Derived {
	return keystest.Derived{As: p, Versions: v, Seed: "rotation test"}
}

// person is a made-up person.
type person struct{ nir, last, first, birth, sex string }

const header = "file,nir,last_name,first_name,birth_date,sex,diagnosis,visit_date,gene,zygosity\n"

func (p person) row(file, diagnosis, gene string) string {
	zyg := ""
	if gene != "" {
		zyg = "heterozygous"
	}
	return strings.Join([]string{file, p.nir, p.last, p.first, p.birth, p.sex, diagnosis, "2026-01-10", gene, zyg}, ",") + "\n"
}

// basis is the person's pseudonym basis.
func (p person) basis(t testing.TB) string {
	b, err := pseudo.Basis(pseudo.Identity{NIR: p.nir, LastName: p.last, FirstName: p.first, BirthDate: p.birth, Sex: p.sex})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// pseudonymAt is the person's pseudonym at key version v.
func (p person) pseudonymAt(t testing.TB, v int) string {
	s, _ := prov(keys.ProfileDPO, v).PseudonymKey(context.Background(), keys.PseudoWarehouse)
	k, err := pseudo.New(s)
	if err != nil {
		t.Fatal(err)
	}
	return k.Patient(p.basis(t))
}

type fixture struct {
	ctx     context.Context
	dir     string
	st      *objstore.Local
	people  []person
	uploads int
	// noGenetic leaves the genetic columns empty (the dpo alone can then
	// handle rights requests, SEC-LOG-6).
	noGenetic bool
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	dir, st := warehousetest.Empty(t)
	f := &fixture{ctx: context.Background(), dir: dir, st: st}
	f.people = []person{
		{synth.NIR("2620475011123"), "Lefevre", "Amelie", "1962-04-15", "F"},
		{"", "Guerin", "Theo", "1971-01-02", "M"},
		{synth.NIR("2850513008456"), "Moreau", "Chloe", "1985-05-20", "F"},
	}
	return f
}

func (f *fixture) wh(t testing.TB, p keystest.Derived) *warehouse.Warehouse {
	t.Helper()
	w, err := warehouse.Open(f.ctx, f.st, p)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// ingest ingests one upload (a batch) with the pseudonym key at version v:
// every person gets an image (the first also a genetic row and a record
// without image).
func (f *fixture) ingest(t testing.TB, v int) {
	t.Helper()
	f.uploads++
	name := fmt.Sprintf("upload%d", f.uploads)
	src := filepath.Join(f.dir, name)
	os.MkdirAll(src, 0o755)
	m := header
	for i, p := range f.people {
		im := fmt.Sprintf("%s-%d.img", name, i)
		os.WriteFile(filepath.Join(src, im), []byte("IMG synthetic pixels of "+im), 0o644)
		gene := ""
		if i == 0 && !f.noGenetic {
			gene = "BRCA1"
			m += p.row("", "C50.9", "")
		}
		m += p.row(im, "C50", gene)
	}
	os.WriteFile(filepath.Join(src, "manifest.csv"), []byte(m), 0o644)
	s, _ := objstore.NewLocal(src)
	ing := prov(keys.ProfileIngest, v)
	at := time.Date(2026, 3, 1, 10, f.uploads, 0, 0, time.UTC)
	sum, err := pipeline.Ingest(f.ctx, f.wh(t, ing), ing, maskingtest.Deidentifier{Format: "dicom"}, pipeline.Options{
		Source: s, SourceID: name, Workers: 1, Profile: keys.ProfileIngest, ScrubText: func(s string, _ masking.Person) string { return s }, Now: func() time.Time { return at },
	})
	if err != nil || sum.Ingested == 0 {
		t.Fatalf("ingest: %+v %v", sum, err)
	}
}

// snapshot is the plaintext of every table row and image of a warehouse
// (maps included), by store, sorted: two warehouses with equal snapshots
// hold the same data.
func snapshot(t testing.TB, st objstore.Store, w *warehouse.Warehouse) map[string][]string {
	t.Helper()
	ctx := context.Background()
	out := map[string][]string{}
	for _, prefix := range []string{"health/", "identity/", "genetic/"} {
		store := strings.TrimSuffix(prefix, "/")
		for info, err := range st.List(ctx, prefix) {
			if err != nil {
				t.Fatal(err)
			}
			dek, err := w.DataKey(ctx, warehousetest.BatchOf(info.Key), store)
			if errors.Is(err, keys.ErrForbidden) {
				out[info.Key] = []string{"(not readable by this profile)"}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", info.Key, err)
			}
			if strings.HasSuffix(info.Key, ".parquet") {
				if _, err := tables.ScanObject(ctx, st, info.Key, dek, tables.Query{}, func(r *tables.Row) error {
					m := r.Map(nil)
					ks := make([]string, 0, len(m))
					for k, v := range m {
						ks = append(ks, k+"="+v)
					}
					sort.Strings(ks)
					out[info.Key] = append(out[info.Key], strings.Join(ks, ","))
					return nil
				}); err != nil {
					t.Fatalf("%s: %v", info.Key, err)
				}
				sort.Strings(out[info.Key])
				continue
			}
			data, err := warehouse.ReadEncryptedAll(ctx, st, info.Key, dek, 1<<30)
			if err != nil {
				t.Fatalf("%s: %v", info.Key, err)
			}
			out[info.Key] = []string{string(data)}
		}
	}
	return out
}

// copyDir copies a folder (a warehouse) to a new one.
func copyDir(t testing.TB, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
