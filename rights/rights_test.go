package rights_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"hdw/keys"
	"hdw/keys/keystest"
	"hdw/objstore"
	"hdw/pseudo"
	"hdw/rights"
	"hdw/synth"
	"hdw/warehouse"
)

// fakeWS is an in-memory WorkspaceIndex: each project holds workspace
// pseudonyms = HMAC(pseudo:ws:<project>, warehouse pseudonym).
type fakeWS struct {
	keys    keystest.Derived // a view allowed the workspace pseudonym keys
	rows    map[string][]string
	notices map[string][]rights.WorkspaceNotice
}

func (w *fakeWS) rekey(project, p string) string {
	sk, _ := w.keys.PseudonymKey(context.Background(), keys.PseudoWorkspace(project))
	k, _ := pseudo.New(sk)
	return k.Rekey(pseudo.DomainWorkspace, p)
}

// demoWithWorkspaces ingests the demo upload and returns the dpo's rights
// service over an empty fakeWS.
func (f *fixture) demoWithWorkspaces(t *testing.T) (*rights.Service, *fakeWS) {
	t.Helper()
	f.demo(t)
	ws := &fakeWS{keys: f.as(keys.ProfileCurator).Derived, rows: map[string][]string{}}
	return f.service(t, func(o *rights.Options) { o.Workspaces = ws }), ws
}

// cardioHoldsA is demoWithWorkspaces with A's warehouse pseudonym (found
// under request ref, returned) twice in the cardio workspace and another
// person's once in onco.
func (f *fixture) cardioHoldsA(t *testing.T, ref string) (*rights.Service, *fakeWS, string) {
	t.Helper()
	s, ws := f.demoWithWorkspaces(t)
	loc, err := s.Find(f.ctx, req(ref), subjNIR(f.A))
	if err != nil || len(loc.Pseudonyms) == 0 {
		t.Fatal(err, loc)
	}
	ws.add("cardio", loc.Pseudonyms[0], 2)
	ws.add("onco", "otherpseudonymaaaaaaaaaaaaaaaaaa", 1)
	return s, ws, loc.Pseudonyms[0]
}

// add copies a warehouse pseudonym into a workspace n times.
func (w *fakeWS) add(project, p string, n int) {
	for i := 0; i < n; i++ {
		w.rows[project] = append(w.rows[project], w.rekey(project, p))
	}
}

func (w *fakeWS) Projects(ctx context.Context) ([]string, error) {
	var out []string
	for p := range w.rows {
		out = append(out, p)
	}
	slices.Sort(out)
	return out, nil
}

func (w *fakeWS) Find(ctx context.Context, project string, ps []string) (int, error) {
	n := 0
	for _, p := range ps {
		wp := w.rekey(project, p)
		for _, r := range w.rows[project] {
			if r == wp {
				n++
			}
		}
	}
	return n, nil
}

func (w *fakeWS) Erase(ctx context.Context, project string, ps []string) (rights.ObjectsProof, error) {
	var pr rights.ObjectsProof
	for _, p := range ps {
		wp := w.rekey(project, p)
		kept := w.rows[project][:0]
		for _, r := range w.rows[project] {
			if r == wp {
				pr.Rows++
			} else {
				kept = append(kept, r)
			}
		}
		w.rows[project] = kept
	}
	pr.Objects = append(pr.Objects, rights.ObjectProof{Key: "workspaces/" + project + "/records.parquet", Store: keys.Workspace(project), Action: "rewritten", RowsRemoved: pr.Rows})
	return pr, nil
}

func (w *fakeWS) Resolve(ctx context.Context, project, wp string, cands []string) (string, error) {
	for _, c := range cands {
		if w.rekey(project, c) == wp {
			return c, nil
		}
	}
	return "", nil
}

func (w *fakeWS) Notify(ctx context.Context, project string, n rights.WorkspaceNotice) (rights.NoticeRef, error) {
	if w.notices == nil {
		w.notices = map[string][]rights.WorkspaceNotice{}
	}
	w.notices[project] = append(w.notices[project], n)
	return rights.NoticeRef{Project: project, ID: strconv.Itoa(len(w.notices[project])), Kind: n.Kind, Pseudonyms: len(n.Erased) + len(n.Renamed)}, nil
}

func (w *fakeWS) Rename(ctx context.Context, project, old, np string) (int, error) {
	o, n := w.rekey(project, old), w.rekey(project, np)
	c := 0
	for i, r := range w.rows[project] {
		if r == o {
			w.rows[project][i] = n
			c++
		}
	}
	return c, nil
}

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
	loc, _ := s.Find(f.ctx, req("REQ-4"), subjNIR(f.A))
	ws.add("cardio", loc.Pseudonyms[0], 1)
	// An image of an interrupted batch (no commit record; torn, as after a
	// power loss) is neither copied nor read.
	if err := f.st.PutIfAbsent(f.ctx, "health/images/"+loc.Pseudonyms[0]+"/20990101T000000Z-0123456789abcdef-tok.dcm", strings.NewReader("torn")); err != nil {
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
	loc, _ := s.Find(f.ctx, req("REQ-6"), subjNIR(f.A))
	pA := loc.Pseudonyms[0]
	ws.add("cardio", pA, 2)
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
	loc, err = s.Find(f.ctx, req("REQ-6"), subjNIR(f.A))
	if err != nil || loc.Found {
		t.Fatalf("after erase: found=%v err=%v", loc.Found, err)
	}
	if n, _ := ws.Find(f.ctx, "cardio", []string{pA}); n != 0 || len(ws.rows["cardio"]) != 1 {
		t.Fatal("workspace still holds the person")
	}
	plain := f.decryptAll(t)
	if s := containsAny(plain, append(f.A.identifiers(), pA, "BRCA1")); s != "" {
		t.Errorf("a decrypted store still holds an identifying string of the erased person (%d chars)", len(s))
	}
	if s := containsAny(plain, []string{f.B.last, f.C.last, f.C.nir}); s == "" {
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
	if s := containsAny(raw, append(f.A.identifiers(), pA)); s != "" {
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
		if containsAny([]byte(info.Key), append(f.A.identifiers(), f.B.identifiers()...)) != "" {
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
	locC, _ := s.Find(f.ctx, req("REQ-11"), subjNIR(f.C))
	oldP := locC.Pseudonyms[0]
	ws.add("cardio", oldP, 1)

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

// TestSEC_REI_3_Emergency returns the identity of a warehouse pseudonym and
// of a workspace pseudonym when the workspace is named.
func TestSEC_REI_3_Emergency(t *testing.T) {
	f := newFixture(t)
	s, ws := f.demoWithWorkspaces(t)
	loc, _ := s.Find(f.ctx, req("REQ-12"), subjName(f.B))
	pB := loc.Pseudonyms[0]
	em := rights.Request{Ref: "EMERG-1", Reason: rights.ReasonEmergency}
	id, err := s.Emergency(f.ctx, em, pB, "")
	if err != nil || id.Fields["last_name"] != f.B.last || id.Fields["phone"] != f.B.phone || id.Rows != 1 {
		t.Fatal(err, id)
	}
	ws.add("cardio", pB, 1)
	id, err = s.Emergency(f.ctx, em, ws.rows["cardio"][0], "cardio")
	if err != nil || id.Pseudonym != pB || id.Fields["first_name"] != f.B.first {
		t.Fatal(err, id)
	}
	if _, err := s.Emergency(f.ctx, em, ws.rows["cardio"][0], ""); !errors.Is(err, rights.ErrNotFound) {
		t.Fatalf("a workspace pseudonym without its workspace: %v", err)
	}
	if _, err := s.Emergency(f.ctx, em, "../../etc", ""); !errors.Is(err, rights.ErrNotFound) {
		t.Fatalf("malformed: %v", err)
	}
}

// TestSEC_REI_2_Recontact selects persons by medical criteria and returns
// contact details only.
func TestSEC_REI_2_Recontact(t *testing.T) {
	f := newFixture(t)
	f.demo(t)
	s := f.service(t, nil)
	rc := rights.Request{Ref: "RECONTACT-1", Reason: rights.ReasonRecontact}
	cs, err := s.Recontact(f.ctx, rc, "diagnosis like 'C50%' or (diagnosis = 'J45' and birth_year >= 1970)")
	if err != nil || len(cs) != 2 {
		t.Fatal(err, cs)
	}
	var names []string
	for _, c := range cs {
		names = append(names, c["last_name"])
		for k := range c {
			if !slices.Contains(rights.ContactColumns(), k) {
				t.Errorf("recontact returns %s", k)
			}
		}
		if c["phone"] == "" || c["address"] == "" {
			t.Error("contact details missing")
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{f.B.last, f.A.last}) && !slices.Equal(names, []string{f.A.last, f.B.last}) {
		t.Fatalf("selected %d persons, not A and B", len(names))
	}
	if _, err := s.Recontact(f.ctx, rc, "last_name = 'Moreau'"); err == nil {
		t.Fatal("criteria on an identifying column must be refused")
	}
	if _, err := s.Recontact(f.ctx, rc, "diagnosis = "); err == nil {
		t.Fatal("syntax error expected")
	}
}

// TestSEC_REI_4_SEC_REI_5_Guards: non-dpo profiles, a missing request reference or
// reason, and a rate-limit breach are refused; the breach raises an alert.
func TestSEC_REI_4_SEC_REI_5_Guards(t *testing.T) {
	f := newFixture(t)
	f.demo(t)
	t.Run("non-dpo profiles", func(t *testing.T) {
		for _, prof := range []string{keys.ProfileCurator, keys.ProfileIngest, keys.ProfileAdmin, keys.Researcher("cardio"), keys.ProfileApprover} {
			p := f.as(prof)
			wh, _ := warehouse.Open(f.ctx, f.st, p)
			if _, err := rights.New(wh, p, rights.Options{}); !errors.Is(err, rights.ErrNotDPO) || !errors.Is(err, keys.ErrForbidden) {
				t.Errorf("%s: got %v", prof, err)
			}
		}
		// A provider that obeys keys.Allowed refuses a curator the
		// warehouse key and the identity store, whatever it claims.
		liar := struct{ provider }{f.as(keys.ProfileCurator)}
		if _, err := liar.PseudonymKey(f.ctx, keys.PseudoWarehouse); !errors.Is(err, keys.ErrForbidden) {
			t.Fatal(err)
		}
	})
	s := f.service(t, nil)
	t.Run("request reference", func(t *testing.T) {
		for _, ref := range []string{"", "Jean Dupont", strings.Repeat("x", 65), "a\nb"} {
			if _, err := s.Find(f.ctx, req(ref), subjNIR(f.A)); !errors.Is(err, rights.ErrNoRequest) {
				t.Errorf("ref of %d chars: got %v", len(ref), err)
			}
		}
	})
	t.Run("reason", func(t *testing.T) {
		loc, _ := s.Find(f.ctx, req("REQ-13"), subjNIR(f.A))
		for _, reason := range []string{"", "curiosity", rights.ReasonRecontact} {
			if _, err := s.Emergency(f.ctx, rights.Request{Ref: "R-1", Reason: reason}, loc.Pseudonyms[0], ""); !errors.Is(err, rights.ErrNoReason) {
				t.Errorf("reason %q: got %v", reason, err)
			}
		}
		if _, err := s.Recontact(f.ctx, rights.Request{Ref: "R-1", Reason: rights.ReasonEmergency}, "diagnosis = 'C50'"); !errors.Is(err, rights.ErrNoReason) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("rate limit", func(t *testing.T) {
		var alerts []rights.Alert
		now := f.now.Add(48 * time.Hour)
		s := f.service(t, func(o *rights.Options) {
			o.MaxPerDay = 2
			o.Now = func() time.Time { return now }
			o.Alert = func(ctx context.Context, a rights.Alert) { alerts = append(alerts, a) }
		})
		// One request's find, access-like repeats on one person count once.
		for i := 0; i < 3; i++ {
			if _, err := s.Find(f.ctx, req("RL-1"), subjNIR(f.A)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Find(f.ctx, req("RL-2"), subjName(f.B)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Find(f.ctx, req("RL-3"), subjNIR(f.C)); !errors.Is(err, rights.ErrRateLimit) {
			t.Fatalf("third person of the day: got %v", err)
		}
		if len(alerts) != 1 || alerts[0].Limit != 2 || alerts[0].Request != "RL-3" {
			t.Fatalf("alerts %+v", alerts)
		}
		rc := rights.Request{Ref: "RL-4", Reason: rights.ReasonRecontact}
		if _, err := s.Recontact(f.ctx, rc, "diagnosis != ''"); !errors.Is(err, rights.ErrRateLimit) {
			t.Fatalf("bulk recontact: got %v", err)
		}
		entries, _ := rights.Ledger(f.ctx, f.st, now)
		if rights.Used(entries) != 2 || len(entries) != 6 {
			t.Fatalf("ledger: used %d, %d entries", rights.Used(entries), len(entries))
		}
		raw := f.readPrefix(t, rights.LedgerPrefix)
		if s := containsAny(raw, append(append(f.A.identifiers(), f.B.identifiers()...), f.C.identifiers()...)); s != "" {
			t.Fatal("the ledger holds an identifying value")
		}
		// The next day the limit is fresh.
		now = now.Add(24 * time.Hour)
		if _, err := s.Find(f.ctx, req("RL-3"), subjNIR(f.C)); err != nil {
			t.Fatal(err)
		}
	})
}

// TestErrorsHoldNoPHI: errors about the subject never echo the values.
func TestErrorsHoldNoPHI(t *testing.T) {
	f := newFixture(t)
	f.demo(t)
	s := f.service(t, nil)
	bad := []rights.Subject{
		{NIR: "2620475011199"},
		{NIR: "2620475011123XX"},
		{LastName: "Lefèvre", FirstName: "Amélie", BirthDate: "15/04/1962", Sex: "F"},
		{LastName: "Lefèvre", FirstName: "Amélie", BirthDate: "1962-04-15", Sex: "Femelle"},
		{LastName: "Lefèvre"},
	}
	for i, subj := range bad {
		_, err := s.Find(f.ctx, req("REQ-14"), subj)
		if err == nil {
			t.Fatalf("case %d: error expected", i)
		}
		for _, v := range []string{subj.NIR, subj.LastName, subj.BirthDate, subj.Sex} {
			if v != "" && strings.Contains(err.Error(), v) {
				t.Errorf("case %d: error echoes a value", i)
			}
		}
	}
	if got := (rights.Subject{NIR: f.A.nir}).String(); strings.Contains(got, f.A.nir) {
		t.Fatal("Subject must redact")
	}
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
	if v := containsAny(f.decryptAll(t), f.A.identifiers()); v != "" {
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
