package rights_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hdw/keys"
	"hdw/keys/keystest"
	"hdw/masking"
	"hdw/masking/maskingtest"
	"hdw/objstore"
	"hdw/pipeline"
	"hdw/rights"
	"hdw/synth"
	"hdw/warehouse"
	"hdw/warehouse/warehousetest"
)

// provider is one profile's view of the test's key service
// (keystest.Derived from the fixture's random seed); it obeys keys.Allowed.
// extract lets the dpo's view read the genetic store, standing for the
// curator-prepared extract (rights/genetic.go), so that these tests keep
// exercising the rights logic on genetic rows in one step; without it
// (strict, as on both real providers), see TestSEC_LOG_6_RightsRefuseGenetic
// and TestIssue22_SEC_LOG_6_GeneticExtract.
type provider struct {
	keystest.Derived
	extract bool
}

func (p provider) Unwrap(ctx context.Context, store string, w [][]byte) ([]keys.Secret, error) {
	if p.extract && store == keys.Genetic {
		p.As = keys.ProfileCurator
	}
	return p.Derived.Unwrap(ctx, store, w)
}

func scrub(s string, p masking.Person) string {
	for _, id := range p.Identifiers {
		s = strings.ReplaceAll(s, id.Value, id.Kind)
	}
	return s
}

// synthetic persons (made up).
type synthPerson struct {
	nir, last, first, birth, sex, address, postal, city, phone, email string
}

func (p synthPerson) identifiers() []string {
	out := []string{p.last, p.first, p.birth, p.address, p.phone, p.email}
	if p.nir != "" {
		out = append(out, p.nir)
	}
	return out
}

type fixture struct {
	ctx   context.Context
	dir   string
	st    *objstore.Local
	seed  string               // of the key service
	ingWH *warehouse.Warehouse // ingest profile's view
	dpoWH *warehouse.Warehouse // dpo profile's view
	dpo   provider
	now   time.Time
	A, B  synthPerson // A has a NIR, B has none
	C     synthPerson // C has a NIR
}

const header = "file,nir,last_name,first_name,birth_date,sex,address,postal_code,city,phone,email,diagnosis,visit_date,notes,gene,zygosity\n"

func (p synthPerson) row(file, diagnosis, notes, gene string) string {
	zyg := ""
	if gene != "" {
		zyg = "heterozygous"
	}
	return strings.Join([]string{file, p.nir, p.last, p.first, p.birth, p.sex, p.address, p.postal, p.city, p.phone, p.email,
		diagnosis, "2026-01-10", notes, gene, zyg}, ",") + "\n"
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	dir, st := warehousetest.Empty(t)
	f := &fixture{ctx: ctx, dir: dir, st: st, seed: rand.Text(), now: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	f.ingWH, _ = warehouse.Open(ctx, st, f.as(keys.ProfileIngest))
	f.dpo = f.as(keys.ProfileDPO)
	f.dpo.extract = true
	f.dpoWH, _ = warehouse.Open(ctx, st, f.dpo)
	f.A = synthPerson{synth.NIR("2620475011123"), "Lefèvre", "Amélie", "1962-04-15", "F", "12 rue des Lilas", "75011", "Paris", "0612345678", "amelie.lf@example.invalid"}
	f.B = synthPerson{"", "Guérin", "Théo", "1971-01-02", "M", "3 impasse du Moulin", "69003", "Lyon", "0698765432", "theo.gr@example.invalid"}
	f.C = synthPerson{synth.NIR("2850513008456"), "Moreau", "Chloé", "1985-05-20", "F", "8 boulevard Voltaire", "13008", "Marseille", "0611223344", "chloe.mr@example.invalid"}
	return f
}

// as is the profile's view of the fixture's key service.
func (f *fixture) as(profile string) provider {
	return provider{Derived: keystest.Derived{As: profile, Seed: f.seed}}
}

// ingest writes an upload and ingests it at time at; it returns the summary.
func (f *fixture) ingest(t testing.TB, name string, at time.Time, manifest string, images ...string) *pipeline.Summary {
	t.Helper()
	src := filepath.Join(f.dir, name)
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "manifest.csv"), []byte(manifest), 0o644)
	for _, im := range images {
		// Each image its own content: the same bytes twice for one person are a
		// duplicate upload, which ingest rejects (issue 23).
		os.WriteFile(filepath.Join(src, im), []byte("IMG synthetic pixels of "+im), 0o644)
	}
	s, _ := objstore.NewLocal(src)
	sum, err := pipeline.Ingest(f.ctx, f.ingWH, f.as(keys.ProfileIngest), maskingtest.Deidentifier{Format: "dicom"}, pipeline.Options{
		Source: s, SourceID: name, Workers: 2, ScrubText: scrub, Profile: keys.ProfileIngest, Now: func() time.Time { return at },
	})
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// demo ingests the first upload: A (2 images, 1 record only, genetic), B (1 image), C (1 image).
func (f *fixture) demo(t testing.TB) *pipeline.Summary {
	t.Helper()
	m := header +
		f.A.row("a1.img", "C50", "Amélie Lefèvre seen today", "BRCA1") +
		f.A.row("a2.img", "C50", "", "") +
		f.A.row("", "C50.9", "follow-up", "") +
		f.B.row("b.img", "J45", "", "") +
		f.C.row("c.img", "E11", "", "")
	sum := f.ingest(t, "upload1", f.now, m, "a1.img", "a2.img", "b.img", "c.img")
	if sum.Ingested != 5 {
		t.Fatalf("demo ingest: %+v", sum)
	}
	return sum
}

func (f *fixture) service(t testing.TB, mod func(*rights.Options)) *rights.Service {
	t.Helper()
	opt := rights.Options{Now: func() time.Time { return f.now }, Operator: "dpo-test"}
	if mod != nil {
		mod(&opt)
	}
	s, err := rights.New(f.dpoWH, f.dpo, opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// decryptAll decrypts every table and image of the warehouse (dpo view)
// and returns the plaintext, for leak scans.
func (f *fixture) decryptAll(t testing.TB) []byte {
	t.Helper()
	return warehousetest.Plain(t, f.dpoWH, "health/", "identity/", "genetic/")
}

// readPrefix concatenates the raw objects under prefix.
func (f *fixture) readPrefix(t testing.TB, prefix string) []byte {
	t.Helper()
	var out bytes.Buffer
	for info, err := range f.st.List(f.ctx, prefix) {
		if err != nil {
			t.Fatal(err)
		}
		r, err := f.st.Open(f.ctx, info.Key)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(&out, r)
		r.Close()
	}
	return out.Bytes()
}

func req(ref string) rights.Request { return rights.Request{Ref: ref} }

func subjNIR(p synthPerson) rights.Subject { return rights.Subject{NIR: p.nir} }

func subjName(p synthPerson) rights.Subject {
	return rights.Subject{LastName: p.last, FirstName: p.first, BirthDate: p.birth, Sex: p.sex}
}

// checkCommits verifies that every commit record lists existing objects
// with their current plaintext hash (rights amends the records); the dpo's
// view (with the genetic extract) reads every store.
func (f *fixture) checkCommits(t testing.TB) {
	t.Helper()
	if n := warehousetest.CheckCommits(t, f.dpoWH); n != 0 {
		t.Fatalf("%d objects of the commit records not readable by the dpo's view", n)
	}
}
