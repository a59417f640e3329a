package rights_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hdw/objstore"
	"hdw/rights"
	"hdw/synth"
	"hdw/warehouse"
	"hdw/warehouse/warehousetest"
)

// TestSEC_REI_1_Find finds a person by NIR and by name, birth date and sex,
// with accents, case, punctuation and codes varied.
func TestSEC_REI_1_Find(t *testing.T) {
	f := newFixture(t)
	f.demo(t)
	s := f.service(t, nil)
	spaced := f.A.nir[:1] + " " + f.A.nir[1:3] + " " + f.A.nir[3:5] + " " + f.A.nir[5:7] + " " + f.A.nir[7:10] + " " + f.A.nir[10:13] + " " + f.A.nir[13:]
	cases := []struct {
		name                     string
		subj                     rights.Subject
		found                    bool
		records, images, genetic int
	}{
		{"A by NIR", subjNIR(f.A), true, 3, 2, 1},
		{"A by spaced NIR", rights.Subject{NIR: spaced}, true, 3, 2, 1},
		{"A by name", subjName(f.A), true, 3, 2, 1},
		{"A by name without accents, case varied", rights.Subject{LastName: "LEFEVRE", FirstName: "amelie", BirthDate: "1962-04-15", Sex: "2"}, true, 3, 2, 1},
		{"B by name, case and accents varied", rights.Subject{LastName: "guerin", FirstName: "THÉO", BirthDate: " 1971-01-02", Sex: "homme"}, true, 1, 1, 0},
		{"B by name with punctuation", rights.Subject{LastName: "Gué-rin", FirstName: "Théo", BirthDate: "1971-01-02", Sex: "m"}, false, 0, 0, 0},
		{"unknown person", rights.Subject{LastName: "Martin", FirstName: "Paul", BirthDate: "1950-01-01", Sex: "M"}, false, 0, 0, 0},
		{"wrong birth date", rights.Subject{LastName: "Guérin", FirstName: "Théo", BirthDate: "1971-01-03", Sex: "M"}, false, 0, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			loc, err := s.Find(f.ctx, req("REQ-1"), c.subj)
			if err != nil {
				t.Fatal(err)
			}
			if loc.Found != c.found || loc.Records != c.records || loc.Images != c.images || loc.Genetic != c.genetic {
				t.Fatalf("got found=%v records=%d images=%d genetic=%d", loc.Found, loc.Records, loc.Images, loc.Genetic)
			}
			if c.found && (len(loc.Batches) != 1 || len(loc.Pseudonyms) != 1 || loc.Identity != c.records) {
				t.Fatalf("batches %d pseudonyms %d identity %d", len(loc.Batches), len(loc.Pseudonyms), loc.Identity)
			}
		})
	}
}

// TestSEC_REI_1_FindAcrossBases: a person ingested once with a NIR and once
// with names only has two pseudonyms; a search by either finds both.
func TestSEC_REI_1_FindAcrossBases(t *testing.T) {
	f := newFixture(t)
	f.demo(t)
	noNIR := f.A
	noNIR.nir = ""
	noNIR.last = "LEFEVRE"
	f.ingest(t, "upload2", f.now.Add(time.Hour), header+noNIR.row("", "C50", "", ""))
	s := f.service(t, nil)
	for _, subj := range []rights.Subject{subjNIR(f.A), subjName(f.A)} {
		loc, err := s.Find(f.ctx, req("REQ-2"), subj)
		if err != nil {
			t.Fatal(err)
		}
		if !loc.Found || len(loc.Pseudonyms) != 2 || loc.Records != 4 || len(loc.Batches) != 2 {
			t.Fatalf("found=%v pseudonyms=%d records=%d batches=%d", loc.Found, len(loc.Pseudonyms), loc.Records, len(loc.Batches))
		}
	}
}

// TestSEC_REI_1_FindListsWorkspacesAndExports: workspaces holding the
// person and exports built after their ingest are listed.
func TestSEC_REI_1_FindListsWorkspacesAndExports(t *testing.T) {
	f := newFixture(t)
	s, _, _ := f.cardioHoldsA(t, "REQ-3")
	before := warehouse.NewID(f.now.Add(-24 * time.Hour))
	after := warehouse.NewID(f.now.Add(24 * time.Hour))
	for _, id := range []string{before, after} {
		f.st.PutIfAbsent(f.ctx, "exports/"+id+"/data.csv", strings.NewReader("anonymous"))
	}
	loc, err := s.Find(f.ctx, req("REQ-3"), subjNIR(f.A))
	if err != nil {
		t.Fatal(err)
	}
	if len(loc.Workspaces) != 1 || loc.Workspaces[0].Project != "cardio" || loc.Workspaces[0].Rows != 2 {
		t.Fatalf("workspaces %+v", loc.Workspaces)
	}
	if len(loc.Exports) != 1 || loc.Exports[0].ID != after {
		t.Fatalf("exports %+v", loc.Exports)
	}
}

// Test9_2_AccessPackage checks the contents of the access package.
func Test9_2_AccessPackage(t *testing.T) {
	f := newFixture(t)
	s, ws := f.demoWithWorkspaces(t)
	pA := f.hold(t, s, ws, "REQ-4", f.A, "cardio", 1)
	// An image of an interrupted batch (no commit record; torn, as after a
	// power loss) is neither copied nor read.
	if err := f.st.PutIfAbsent(f.ctx, "health/images/"+pA+"/20990101T000000Z-0123456789abcdef-tok.dcm", strings.NewReader("torn")); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(f.dir, "access")
	out, _ := objstore.NewLocal(dir)
	rep, err := s.Access(f.ctx, req("REQ-4"), subjName(f.A), out)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Found || rep.Records != 3 || rep.Identity != 3 || rep.Genetic != 1 || rep.Images != 2 || len(rep.Projects) != 1 {
		t.Fatalf("report %+v", rep)
	}
	for _, name := range []string{"identity.parquet", "identity.csv", "health.parquet", "health.csv", "genetic.parquet", "genetic.csv", "projects.csv", "summary.txt"} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("package lacks %s", name)
		}
	}
	idcsv, _ := os.ReadFile(filepath.Join(dir, "identity.csv"))
	if !bytes.Contains(idcsv, []byte(f.A.last)) || bytes.Contains(idcsv, []byte(f.B.last)) || bytes.Contains(idcsv, []byte(f.C.last)) {
		t.Error("identity.csv must hold the person's identity and nobody else's")
	}
	hcsv, _ := os.ReadFile(filepath.Join(dir, "health.csv"))
	if n := bytes.Count(hcsv, []byte("\n")); n != 4 {
		t.Errorf("health.csv has %d lines, want header + 3", n)
	}
	pq, _ := os.ReadFile(filepath.Join(dir, "health.parquet"))
	rows := 0
	if _, err := warehouse.ReadTable(pq, func(map[string]string) error { rows++; return nil }); err != nil || rows != 3 {
		t.Errorf("health.parquet: %v, %d rows", err, rows)
	}
	gcsv, _ := os.ReadFile(filepath.Join(dir, "genetic.csv"))
	if !bytes.Contains(gcsv, []byte("BRCA1")) {
		t.Error("genetic.csv lacks the variant")
	}
	imgs, _ := filepath.Glob(filepath.Join(dir, "images", "*.dcm"))
	if len(imgs) != 2 {
		t.Fatalf("images %v", imgs)
	}
	im, _ := os.ReadFile(imgs[0])
	if !bytes.HasPrefix(im, []byte("CLEAN ")) {
		t.Error("images must be the de-identified copies, decrypted")
	}
	sum, _ := os.ReadFile(filepath.Join(dir, "summary.txt"))
	if !bytes.Contains(sum, []byte("REQ-4")) || !bytes.Contains(sum, []byte("cardio")) {
		t.Errorf("summary:\n%s", sum)
	}
	// Not found: nothing written.
	out2, _ := objstore.NewLocal(filepath.Join(f.dir, "access2"))
	rep, err = s.Access(f.ctx, req("REQ-5"), rights.Subject{LastName: "Nobody", FirstName: "X", BirthDate: "1900-01-01", Sex: "M"}, out2)
	if err != nil || rep.Found || len(rep.Files) != 0 {
		t.Fatal(err, rep)
	}
}

// Test9_2_EraseThenFindNothing erases a person everywhere, proves it, and
// checks that no identifying string of theirs is left in any decrypted store.
func Test9_2_EraseThenFindNothing(t *testing.T) {
	f := newFixture(t)
	s, ws := f.demoWithWorkspaces(t)
	pA := f.hold(t, s, ws, "REQ-6", f.A, "cardio", 2)
	ws.add("cardio", "otherpseudonymaaaaaaaaaaaaaaaaaa", 1)
	f.st.PutIfAbsent(f.ctx, "exports/"+warehouse.NewID(f.now.Add(time.Hour))+"/data.csv", strings.NewReader("anonymous"))

	proof, err := s.Erase(f.ctx, req("REQ-6"), subjName(f.A))
	if err != nil {
		t.Fatal(err)
	}
	if !proof.Verified || proof.Counts["records"] != 3 || proof.Counts["identity"] != 3 || proof.Counts["genetic"] != 1 ||
		proof.Counts["images"] != 2 || proof.Counts["workspace_rows"] != 2 || len(proof.OutOfScope) != 1 {
		t.Fatalf("proof %+v", proof)
	}
	for _, o := range proof.Objects {
		if o.SHA256Before == "" || (o.Action == "rewritten" && (o.SHA256After == "" || o.SHA256After == o.SHA256Before)) {
			t.Errorf("object proof %+v", o)
		}
	}
	f.checkCommits(t)
	if len(proof.AmendedCommits) != 1 {
		t.Fatalf("amended %v", proof.AmendedCommits)
	}
	loc, err := s.Find(f.ctx, req("REQ-6"), subjNIR(f.A))
	if err != nil || loc.Found {
		t.Fatalf("after erase: found=%v err=%v", loc.Found, err)
	}
	if n, _ := ws.Find(f.ctx, "cardio", []string{pA}); n != 0 || len(ws.rows["cardio"]) != 1 {
		t.Fatal("workspace still holds the person")
	}
	plain := f.decryptAll(t)
	if s := warehousetest.ContainsAny(plain, append(f.A.identifiers(), pA, "BRCA1")); s != "" {
		t.Errorf("a decrypted store still holds an identifying string of the erased person (%d chars)", len(s))
	}
	if s := warehousetest.ContainsAny(plain, []string{f.B.last, f.C.last, f.C.nir}); s == "" {
		t.Log("others kept")
	} else if !bytes.Contains(plain, []byte(f.B.last)) || !bytes.Contains(plain, []byte(f.C.nir)) {
		t.Error("other persons must stay")
	}
	for _, other := range []rights.Subject{subjName(f.B), subjNIR(f.C)} {
		if loc, _ := s.Find(f.ctx, req("REQ-7"), other); !loc.Found {
			t.Error("other persons must stay findable")
		}
	}
	// The proof on disk holds no identity and no pseudonym.
	raw := f.readPrefix(t, rights.ProofPrefix)
	if s := warehousetest.ContainsAny(raw, append(f.A.identifiers(), pA)); s != "" {
		t.Errorf("the deletion proof leaks a value of %d chars", len(s))
	}
	var onDisk rights.Proof
	if err := json.Unmarshal(raw, &onDisk); err != nil || onDisk.ID != proof.ID {
		t.Fatalf("proof on disk: %v", err)
	}
}

// TestCNIL_9_4_CNIL_9_7_OpposeThenIngestSkips: after an opposition, a new upload
// containing the person (even under another basis) skips them.
func TestCNIL_9_4_CNIL_9_7_OpposeThenIngestSkips(t *testing.T) {
	f := newFixture(t)
	f.demo(t)
	s := f.service(t, nil)
	// A opposes by NIR: the registry gets both the NIR and the name basis.
	proof, err := s.Oppose(f.ctx, req("REQ-8"), subjNIR(f.A))
	if err != nil {
		t.Fatal(err)
	}
	if proof.OppositionEntries != 2 || !proof.Verified || proof.Counts["records"] != 3 {
		t.Fatalf("proof %+v", proof)
	}
	// B opposes by name, accents dropped.
	if _, err := s.Oppose(f.ctx, req("REQ-9"), rights.Subject{LastName: "GUERIN", FirstName: "theo", BirthDate: "1971-01-02", Sex: "M"}); err != nil {
		t.Fatal(err)
	}
	reg := f.readPrefix(t, "optout/")
	_ = reg
	for info := range f.st.List(f.ctx, "optout/") {
		if warehousetest.ContainsAny([]byte(info.Key), append(f.A.identifiers(), f.B.identifiers()...)) != "" {
			t.Fatal("the registry holds an identity in clear")
		}
	}
	aNames := f.A
	aNames.nir = ""
	bCase := f.B
	bCase.last, bCase.first = "GUÉRIN", "théo"
	m := header + aNames.row("", "C50", "", "") + f.A.row("", "C50", "", "") + bCase.row("", "J45", "", "") + f.C.row("", "E11", "", "")
	sum := f.ingest(t, "upload2", f.now.Add(time.Hour), m)
	if sum.Opposed != 3 || sum.Ingested != 1 {
		t.Fatalf("second ingest %+v", sum)
	}
	for _, subj := range []rights.Subject{subjNIR(f.A), subjName(f.A), subjName(f.B)} {
		if loc, _ := s.Find(f.ctx, req("REQ-10"), subj); loc.Found {
			t.Fatal("opposed person stored again")
		}
	}
}

// Test9_2_Rectify corrects a non-basis field (the pseudonym stays) and the
// NIR (the person is re-pseudonymized in every store).
func Test9_2_Rectify(t *testing.T) {
	f := newFixture(t)
	s, ws := f.demoWithWorkspaces(t)
	oldP := f.hold(t, s, ws, "REQ-11", f.C, "cardio", 1)

	t.Run("phone", func(t *testing.T) {
		rep, err := s.Rectify(f.ctx, req("REQ-11"), subjNIR(f.C), "phone", "0700000001")
		if err != nil || !rep.Found || rep.IdentityRows != 1 || rep.Repseudonymized {
			t.Fatal(err, rep)
		}
		plain := f.decryptAll(t)
		if !bytes.Contains(plain, []byte("0700000001")) || bytes.Contains(plain, []byte(f.C.phone)) {
			t.Fatal("phone not corrected")
		}
		loc, _ := s.Find(f.ctx, req("REQ-11"), subjNIR(f.C))
		if loc.Pseudonyms[0] != oldP {
			t.Fatal("a non-basis field must not change the pseudonym")
		}
		b, _ := json.Marshal(rep)
		if bytes.Contains(b, []byte("0700000001")) {
			t.Fatal("the report echoes the value")
		}
	})
	t.Run("nir", func(t *testing.T) {
		newNIR := synth.NIR("2850513008999")
		rep, err := s.Rectify(f.ctx, req("REQ-11"), subjNIR(f.C), "nir", newNIR)
		if err != nil || !rep.Repseudonymized || rep.Records != 1 || rep.Images != 1 || rep.Workspaces["cardio"] != 1 {
			t.Fatal(err, rep)
		}
		if loc, _ := s.Find(f.ctx, req("REQ-11"), subjNIR(f.C)); loc.Found {
			t.Fatal("the old NIR must find nothing")
		}
		loc, err := s.Find(f.ctx, req("REQ-11"), rights.Subject{NIR: newNIR})
		if err != nil || !loc.Found || loc.Records != 1 || loc.Images != 1 || loc.Pseudonyms[0] == oldP {
			t.Fatalf("new NIR: %+v %v", loc, err)
		}
		newP := loc.Pseudonyms[0]
		f.checkCommits(t)
		plain := f.decryptAll(t)
		if bytes.Contains(plain, []byte(oldP)) {
			t.Fatal("the old pseudonym is left in a store")
		}
		if !bytes.Contains(plain, []byte("PatientID="+newP)) {
			t.Fatal("the image must carry the new pseudonym")
		}
		if n, _ := ws.Find(f.ctx, "cardio", []string{newP}); n != 1 {
			t.Fatal("the workspace must follow")
		}
	})
	t.Run("refused", func(t *testing.T) {
		if _, err := s.Rectify(f.ctx, req("REQ-11"), subjNIR(f.A), "diagnosis", "X"); !errors.Is(err, rights.ErrField) {
			t.Fatalf("got %v", err)
		}
		if _, err := s.Rectify(f.ctx, req("REQ-11"), subjNIR(f.A), "nir", "123"); err == nil || strings.Contains(err.Error(), "123") {
			t.Fatalf("got %v", err)
		}
	})
}

// TestSEC_REI_1_Homonyms: persons sharing names, birth date and sex but not
// the NIR are never merged; a search by names alone asks for the NIR.
func TestSEC_REI_1_Homonyms(t *testing.T) {
	f := newFixture(t)
	f.demo(t)
	e := f.A
	e.nir = synth.NIR("2620475011777")
	e.address, e.phone, e.email = "1 rue Autre", "0600000009", "other@example.invalid"
	f.ingest(t, "upload2", f.now.Add(time.Hour), header+e.row("", "I10", "", ""))
	s := f.service(t, nil)
	if _, err := s.Find(f.ctx, req("REQ-H"), subjName(f.A)); !errors.Is(err, rights.ErrAmbiguous) {
		t.Fatalf("names of homonyms: got %v", err)
	}
	cases := []struct {
		name    string
		subj    rights.Subject
		records int
	}{
		{"A by NIR", subjNIR(f.A), 3},
		{"homonym by NIR", subjNIR(e), 1},
		{"A by NIR and names", rights.Subject{NIR: f.A.nir, LastName: f.A.last, FirstName: f.A.first, BirthDate: f.A.birth, Sex: f.A.sex}, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			loc, err := s.Find(f.ctx, req("REQ-H"), c.subj)
			if err != nil || loc.Records != c.records {
				t.Fatalf("%v records=%d", err, loc.Records)
			}
		})
	}
	// A record under the shared name-only pseudonym may be either person's:
	// reported, never acted on through a NIR.
	noNIR := f.A
	noNIR.nir = ""
	f.ingest(t, "upload3", f.now.Add(2*time.Hour), header+noNIR.row("", "Z00", "", ""))
	for _, subj := range []rights.Subject{subjNIR(f.A), subjNIR(e)} {
		loc, err := s.Find(f.ctx, req("REQ-H"), subj)
		if err != nil || loc.Ambiguous != 1 || len(loc.AmbiguousPseudonyms) != 1 || len(loc.Pseudonyms) != 1 {
			t.Fatalf("%v ambiguous=%d pseudonyms=%d", err, loc.Ambiguous, len(loc.Pseudonyms))
		}
	}
	proof, err := s.Erase(f.ctx, req("REQ-H"), subjNIR(e))
	if err != nil || proof.Counts["records"] != 1 {
		t.Fatal(err, proof)
	}
	// The shared name-only record stayed; with the homonym gone it is no
	// longer ambiguous and links to A.
	if loc, _ := s.Find(f.ctx, req("REQ-H"), subjNIR(f.A)); loc.Records != 4 || loc.Ambiguous != 0 {
		t.Fatalf("erasing a homonym must not touch the other person nor the shared name-only record: %d records", loc.Records)
	}
}

// flakyStore fails image deletions while fail is set.
type flakyStore struct {
	objstore.Store
	fail bool
}

func (s *flakyStore) Delete(ctx context.Context, key string) error {
	if s.fail && strings.HasPrefix(key, "health/images/") {
		return errors.New("simulated outage")
	}
	return s.Store.Delete(ctx, key)
}

// Test9_2_EraseInterruptedThenRerun: an erasure cut short is rerun and
// completes, because identity rows are removed last.
func Test9_2_EraseInterruptedThenRerun(t *testing.T) {
	f := newFixture(t)
	noNIR := f.A
	noNIR.nir = ""
	f.demo(t)
	f.ingest(t, "upload2", f.now.Add(time.Hour), header+noNIR.row("x.img", "C50", "", ""), "x.img")
	fl := &flakyStore{Store: f.st, fail: true}
	wh, _ := warehouse.Open(f.ctx, fl, f.dpo)
	s, err := rights.New(wh, f.dpo, rights.Options{Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Erase(f.ctx, req("REQ-I"), subjNIR(f.A)); err == nil {
		t.Fatal("simulated outage expected")
	}
	fl.fail = false
	proof, err := s.Erase(f.ctx, req("REQ-I"), subjNIR(f.A))
	if err != nil || !proof.Verified || proof.Counts["images"] != 3 || proof.Counts["identity"] != 4 {
		t.Fatal(err, proof)
	}
	if v := warehousetest.ContainsAny(f.decryptAll(t), f.A.identifiers()); v != "" {
		t.Fatal("identifying data left after the rerun")
	}
	f.checkCommits(t)
}

// TestIssue21_WorkspaceNoticesOnlyWhereHeld: an erasure notifies only the
// workspaces holding the person, naming only the pseudonyms each holds; a
// rerun after the erasure notifies nobody again.
func TestIssue21_WorkspaceNoticesOnlyWhereHeld(t *testing.T) {
	f := newFixture(t)
	s, ws, pA := f.cardioHoldsA(t, "REQ-21")
	pr, err := s.Erase(f.ctx, req("REQ-21"), subjNIR(f.A))
	if err != nil || !pr.Verified {
		t.Fatal(err, pr)
	}
	if len(pr.Notices) != 1 || pr.Notices[0].Project != "cardio" || pr.Counts["workspace_notices"] != 1 || len(ws.notices["onco"]) != 0 {
		t.Fatalf("notices %+v", pr.Notices)
	}
	n := ws.notices["cardio"][0]
	if n.Kind != "erasure" || n.Request != "REQ-21" || !n.Time.Equal(f.now) || len(n.Erased) != 1 || n.Erased[0] != pA {
		t.Fatalf("notice %+v", n)
	}
	doc, _ := json.Marshal(pr)
	if bytes.Contains(doc, []byte(pA)) {
		t.Fatal("the proof names a pseudonym")
	}
	if pr, err := s.Erase(f.ctx, req("REQ-21"), subjNIR(f.A)); err != nil || len(pr.Notices) != 0 {
		t.Fatalf("rerun: %v %+v", err, pr)
	}
}
