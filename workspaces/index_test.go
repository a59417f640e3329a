package workspaces_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"hdw/configs"
	"hdw/keys"
	"hdw/keys/keystest"
	"hdw/masking/maskingtest"
	"hdw/objstore"
	"hdw/pipeline"
	"hdw/pseudo"
	"hdw/rights"
	"hdw/synth"
	"hdw/tables"
	"hdw/warehouse"
	"hdw/workspaces"
)

// TestSEC_REI_1_Workspaces: find, erase, emergency and rectification
// through a real workspace built by package workspaces; the workspace
// stays verifiable (re-sealed manifest).
func TestSEC_REI_1_Workspaces(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, _ := objstore.NewLocal(filepath.Join(dir, "wh"))
	warehouse.Create(ctx, st, warehouse.Descriptor{ID: "t", KeyProvider: "local"})
	vault := keystest.NewFakeVault()
	ing := keystest.NewFake(keys.ProfileIngest, vault)
	cur := keystest.NewFake(keys.ProfileCurator, vault)
	// SEC-LOG-6: the dpo does not hold the genetic key; the curator opens
	// the genetic store, as the curator-prepared extract will (issue 22).
	dpo := curatorGenetic{keystest.NewFake(keys.ProfileDPO, vault), cur}
	iwh, _ := warehouse.Open(ctx, st, ing)
	cwh, _ := warehouse.Open(ctx, st, cur)
	dwh, _ := warehouse.Open(ctx, st, dpo)

	nA, nB := synth.NIR("2620475011123"), synth.NIR("1710169003456")
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "manifest.csv"), []byte("file,nir,last_name,first_name,birth_date,sex,diagnosis,gene\n"+
		"a.img,"+nA+",Lefèvre,Amélie,1962-04-15,F,C50,BRCA1\n"+
		",,"+"Lefèvre,Amélie,1962-04-15,F,C50.9,\n"+
		"b.img,"+nB+",Guérin,Théo,1971-01-02,M,J45,\n"), 0o644)
	os.WriteFile(filepath.Join(src, "a.img"), []byte("IMG"), 0o644)
	os.WriteFile(filepath.Join(src, "b.img"), []byte("IMG"), 0o644)
	s, _ := objstore.NewLocal(src)
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	sum, err := pipeline.Ingest(ctx, iwh, ing, maskingtest.Deidentifier{}, pipeline.Options{Source: s, SourceID: "t", ScrubText: maskingtest.Scrub, Now: func() time.Time { return now }})
	if err != nil || sum.Ingested != 3 {
		t.Fatal(err, sum)
	}
	if _, err := workspaces.Create(ctx, cwh, cur, workspaces.Spec{Project: "cardio", Approval: "CSE-1", Columns: []string{"diagnosis", "gene"},
		Dict: configs.DefaultDictionary(), Now: now, Curator: "c"}); err != nil {
		t.Fatal(err)
	}
	idx := workspaces.NewIndex(dwh, dpo)
	svc, err := rights.New(dwh, dpo, rights.Options{Workspaces: idx, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	req := rights.Request{Ref: "WS-1"}
	verify := func() {
		t.Helper()
		probs, err := workspaces.Verify(ctx, cwh, cur, "cardio")
		if err != nil || len(probs) != 0 {
			t.Fatalf("workspace verify: %v %v", err, probs)
		}
	}

	loc, err := svc.Find(ctx, req, rights.Subject{NIR: nA})
	if err != nil || len(loc.Workspaces) != 1 || loc.Workspaces[0].Rows != 2 || len(loc.Pseudonyms) != 2 {
		// A's NIR row and name-only row: two pseudonyms, both found.
		t.Fatalf("find: %v %+v", err, loc)
	}

	t.Run("emergency with a workspace pseudonym", func(t *testing.T) {
		locB, _ := svc.Find(ctx, req, rights.Subject{NIR: nB})
		ps, _ := cur.PseudonymKey(ctx, keys.PseudoWorkspace("cardio"))
		k, _ := pseudo.New(ps)
		wp := k.Rekey(pseudo.DomainWorkspace, locB.Pseudonyms[0])
		id, err := svc.Emergency(ctx, rights.Request{Ref: "EM-1", Reason: rights.ReasonEmergency}, wp, "cardio")
		if err != nil || id.Fields["nir"] != nB {
			t.Fatal(err, id)
		}
	})

	// The researcher's view: the workspace pseudonyms of records.parquet,
	// in order, read with the workspace key, and the notices.
	rwh := func() *warehouse.Warehouse {
		w, _ := warehouse.Open(ctx, st, keystest.NewFake(keys.Researcher("cardio"), vault))
		return w
	}()
	pulled := func() []string {
		t.Helper()
		dek, err := rwh.DataKey(ctx, "ws-cardio", keys.Workspace("cardio"))
		if err != nil {
			t.Fatal(err)
		}
		var ps []string
		if _, err := tables.ScanObject(ctx, st, "workspaces/cardio/records.parquet", dek, tables.Query{}, func(r *tables.Row) error {
			ps = append(ps, r.Map(nil)["pseudonym"])
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return ps
	}
	// noIdentity checks that a notice holds no identifying value and no
	// warehouse pseudonym, in its decoded fields and its stored bytes.
	noIdentity := func(t *testing.T, n workspaces.Notice, whPseudonyms []string) {
		t.Helper()
		doc, _ := json.Marshal(n)
		var raw []byte
		if r, err := st.Open(ctx, "workspaces/cardio/notices/"+n.ID+".parquet"); err == nil {
			raw, _ = io.ReadAll(r)
			r.Close()
		}
		if len(raw) == 0 {
			t.Fatalf("notice %s not stored", n.ID)
		}
		for _, v := range append([]string{nA, nB, "Lefèvre", "LEFEVRE", "Amélie", "AMELIE", "Guérin", "GUERIN", "Théo", "1962-04-15", "1971-01-02", "BRCA1", "C50", "J45"}, whPseudonyms...) {
			if bytes.Contains(doc, []byte(v)) || bytes.Contains(raw, []byte(v)) {
				t.Fatalf("notice %s holds an identifying value or a warehouse pseudonym", n.ID)
			}
		}
	}

	t.Run("rectify NIR follows into the workspace", func(t *testing.T) {
		nB2 := synth.NIR("1710169003999")
		before := pulled()
		locOld, _ := svc.Find(ctx, req, rights.Subject{NIR: nB})
		rep, err := svc.Rectify(ctx, req, rights.Subject{NIR: nB}, "nir", nB2)
		if err != nil || !rep.Repseudonymized || rep.Workspaces["cardio"] != 1 {
			t.Fatal(err, rep)
		}
		// Issue 21: the old -> new workspace pseudonym map is recorded for
		// the workspace's owner, read with the workspace key.
		if len(rep.WorkspaceMaps) != 1 || rep.WorkspaceMaps[0].Project != "cardio" || rep.WorkspaceMaps[0].Pseudonyms != 1 {
			t.Fatalf("report maps %+v", rep.WorkspaceMaps)
		}
		ns, err := workspaces.Notices(ctx, rwh, "cardio")
		if err != nil || len(ns) != 1 || ns[0].Kind != "rectification" || ns[0].Request != "WS-1" || len(ns[0].Renames) != 1 || len(ns[0].Delete) != 0 {
			t.Fatalf("notices %v %+v", err, ns)
		}
		after := pulled()
		inverse := map[string]string{}
		for o, n := range ns[0].Renames {
			inverse[n] = o
		}
		changed := 0
		for i, p := range after {
			if o, ok := inverse[p]; ok {
				after[i] = o
				changed++
			}
		}
		if changed != 1 || strings.Join(after, ",") != strings.Join(before, ",") {
			t.Fatalf("the map does not reverse the change: %d changed", changed)
		}
		locNew, _ := svc.Find(ctx, req, rights.Subject{NIR: nB2})
		noIdentity(t, ns[0], append(locOld.Pseudonyms, locNew.Pseudonyms...))
		// Another profile (ingest) cannot read it.
		other, _ := warehouse.Open(ctx, st, ing)
		if _, err := workspaces.Notices(ctx, other, "cardio"); err == nil {
			t.Fatal("ingest read the workspace notices")
		}
		verify()
		locB, _ := svc.Find(ctx, req, rights.Subject{NIR: nB2})
		if len(locB.Workspaces) != 1 || locB.Workspaces[0].Rows != 1 {
			t.Fatalf("%+v", locB)
		}
		// The workspace image carries the new warehouse pseudonym.
		dek, _ := cwh.DataKey(ctx, "ws-cardio", keys.Workspace("cardio"))
		found := false
		for info := range st.List(ctx, "workspaces/cardio/images/") {
			b, _ := warehouse.ReadEncryptedAll(ctx, st, info.Key, dek, 1<<20)
			found = found || bytes.Contains(b, []byte(locB.Pseudonyms[0]))
		}
		if !found {
			t.Fatal("workspace image not re-pseudonymized")
		}
	})

	t.Run("erase", func(t *testing.T) {
		beforeErase := pulled()
		locA, _ := svc.Find(ctx, req, rights.Subject{NIR: nA})
		proof, err := svc.Erase(ctx, req, rights.Subject{LastName: "LEFEVRE", FirstName: "amelie", BirthDate: "1962-04-15", Sex: "F"})
		if err != nil || !proof.Verified || proof.Counts["workspace_rows"] != 2 {
			t.Fatal(err, proof)
		}
		verify()
		// Issue 21: the researcher is told which workspace pseudonyms to
		// delete from pulled copies, and the proof lists the notice.
		if len(proof.Notices) != 1 || proof.Notices[0].Project != "cardio" || proof.Notices[0].Kind != "erasure" || proof.Counts["workspace_notices"] != 1 {
			t.Fatalf("proof notices %+v", proof.Notices)
		}
		ns, err := workspaces.Notices(ctx, rwh, "cardio")
		if err != nil || len(ns) != 2 {
			t.Fatalf("notices %v %+v", err, ns)
		}
		var n workspaces.Notice
		for _, x := range ns {
			if x.ID == proof.Notices[0].ID {
				n = x
			}
		}
		if n.Kind != "erasure" || n.Request != "WS-1" || !n.Time.Equal(now) || len(n.Renames) != 0 {
			t.Fatalf("erasure notice %+v", n)
		}
		left := map[string]bool{}
		for _, p := range pulled() {
			left[p] = true
		}
		for _, p := range n.Delete {
			if left[p] {
				t.Fatal("the notice names a pseudonym still in the workspace")
			}
			if !slices.Contains(beforeErase, p) {
				t.Fatal("the notice names a pseudonym the workspace never held")
			}
		}
		if len(n.Delete) == 0 || len(beforeErase)-len(pulled()) != 2 {
			t.Fatalf("erasure notice names %d pseudonyms", len(n.Delete))
		}
		noIdentity(t, n, locA.Pseudonyms)
		d, _ := workspaces.Load(ctx, st, "cardio")
		if d.Rows != 1 || d.Patients != 1 || d.Images != 1 {
			t.Fatalf("descriptor %+v", d)
		}
		out := t.TempDir()
		if _, err := workspaces.Pull(ctx, func() *warehouse.Warehouse {
			r := keystest.NewFake(keys.Researcher("cardio"), vault)
			w, _ := warehouse.Open(ctx, st, r)
			return w
		}(), "cardio", out, now); err != nil {
			t.Fatalf("pull after erasure: %v", err)
		}
		var all []byte
		filepath.Walk(out, func(p string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() {
				b, _ := os.ReadFile(p)
				all = append(all, b...)
			}
			return nil
		})
		if bytes.Contains(all, []byte("BRCA1")) || bytes.Contains(all, []byte("C50")) {
			t.Fatal("the erased person's data is still in the pulled workspace")
		}
	})
}

// curatorGenetic is the dpo's provider with the genetic store opened by the
// curator (SEC-LOG-6: the dpo never holds the genetic key).
type curatorGenetic struct {
	*keystest.Fake
	cur *keystest.Fake
}

func (p curatorGenetic) Unwrap(ctx context.Context, store string, w [][]byte) ([]keys.Secret, error) {
	if store == keys.Genetic {
		return p.cur.Unwrap(ctx, store, w)
	}
	return p.Fake.Unwrap(ctx, store, w)
}
