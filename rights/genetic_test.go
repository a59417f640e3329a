package rights_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"hdw/keys"
	"hdw/objstore"
	"hdw/rights"
	"hdw/warehouse"
	"hdw/warehouse/warehousetest"
)

// TestSEC_LOG_6_RightsRefuseGenetic: with the access table as both real
// providers enforce it, the dpo does not hold the genetic key. Find still
// answers (genetic rows are marked reserved, not counted) and access,
// which would need the genetic rows, asks a curator for a prepared
// extract (rights.ErrGeneticExtractPending) and writes nothing.
func TestSEC_LOG_6_RightsRefuseGenetic(t *testing.T) {
	f := newFixture(t)
	f.demo(t)
	s, cur := f.strict(t, rights.GeneticTrust{})
	loc, err := s.Find(f.ctx, req("REQ-G1"), subjNIR(f.A))
	if err != nil {
		t.Fatalf("find: %v", err)
	}
	if !loc.Found || !loc.GeneticReserved || loc.Genetic != 0 || loc.Records != 3 {
		t.Fatalf("find: %+v", loc)
	}
	dir := t.TempDir()
	out, _ := objstore.NewLocal(dir)
	if _, err = s.Access(f.ctx, req("REQ-G2"), subjNIR(f.A), out); !errors.Is(err, rights.ErrGeneticExtractPending) {
		t.Fatalf("access of genetic data by the dpo: %v, want rights.ErrGeneticExtractPending", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("a partial package was written: %d entries", len(ents))
	}
	// A person in a batch with a genetic table needs the extract too: only
	// a curator can tell that it is empty for them.
	if _, err := s.Access(f.ctx, req("REQ-G3"), subjName(f.B), out); !errors.Is(err, rights.ErrGeneticExtractPending) {
		t.Fatalf("access in a batch with genetic data: %v", err)
	}
	e, err := rights.PrepareGeneticExtract(f.ctx, cur, keys.ProfileCurator, "LH-SVC-curator", "REQ-G3", rights.GeneticTrust{}, f.now)
	if err != nil || e.Rows != 0 {
		t.Fatalf("empty extract: %v %+v", err, e)
	}
	rep, err := s.Access(f.ctx, req("REQ-G3"), subjName(f.B), out)
	if err != nil || rep.Genetic != 0 || !rep.Found {
		t.Fatalf("access with an empty extract: %v %+v", err, rep)
	}
}

// strict returns the dpo's rights service as both real providers allow it
// (no genetic key) and the curator's warehouse.
func (f *fixture) strict(t *testing.T, tr rights.GeneticTrust) (*rights.Service, *warehouse.Warehouse) {
	t.Helper()
	dpo := f.as(keys.ProfileDPO)
	wh, err := warehouse.Open(f.ctx, f.st, dpo)
	if err != nil {
		t.Fatal(err)
	}
	operator := "dpo-test"
	if tr.Signer != nil {
		operator = tr.Signer.OperatorID()
	}
	s, err := rights.New(wh, dpo, rights.Options{Now: func() time.Time { return f.now }, Operator: operator, Genetic: tr})
	if err != nil {
		t.Fatal(err)
	}
	cur, err := warehouse.Open(f.ctx, f.st, f.as(keys.ProfileCurator))
	if err != nil {
		t.Fatal(err)
	}
	return s, cur
}

type edSigner struct {
	op   keys.Operator
	priv ed25519.PrivateKey
}

func (s edSigner) OperatorID() string           { return s.op.ID }
func (s edSigner) PublicKey() ed25519.PublicKey { return s.op.PublicKey }
func (s edSigner) Sign(_ context.Context, m []byte) ([]byte, error) {
	return ed25519.Sign(s.priv, m), nil
}

func enrol(id string, role keys.Profile) edSigner {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	return edSigner{keys.Operator{ID: id, Name: strings.ToLower(id), Role: role, PublicKey: pub}, priv}
}

type dirOf []keys.Operator

func (d dirOf) Operators(context.Context) ([]keys.Operator, error) { return d, nil }
func (d dirOf) Operator(_ context.Context, id string) (keys.Operator, error) {
	for _, o := range d {
		if o.ID == id {
			return o, nil
		}
	}
	return keys.Operator{}, keys.ErrOperatorNotFound
}

// TestIssue22_SEC_LOG_6_GeneticExtract: the two-person flow of a right of
// access covering genetic data. The DPO's access asks (signed by the DPO,
// audited through Asked); only a curator other than the DPO prepares the
// extract, signed; an edited extract record or an unsigned one is refused;
// the DPO's next access puts the curator's rows in the package, deletes
// the extract and records the delivery; nothing identifying in the
// records.
func TestIssue22_SEC_LOG_6_GeneticExtract(t *testing.T) {
	f := newFixture(t)
	f.demo(t)
	dpoOp, curOp := enrol("LH-USR-dpo", keys.ProfileDPO), enrol("LH-USR-cur", keys.ProfileCurator)
	dir := dirOf{dpoOp.op, curOp.op}
	var asked []rights.GeneticAsk
	tr := rights.GeneticTrust{Signer: dpoOp, Dir: dir, Asked: func(_ context.Context, a rights.GeneticAsk) { asked = append(asked, a) }}
	s, cur := f.strict(t, tr)
	outDir := t.TempDir()
	out, _ := objstore.NewLocal(outDir)
	if _, err := s.Access(f.ctx, req("REQ-7"), subjNIR(f.A), out); !errors.Is(err, rights.ErrGeneticExtractPending) {
		t.Fatalf("first access: %v", err)
	}
	if _, err := s.Access(f.ctx, req("REQ-7"), subjNIR(f.A), out); !errors.Is(err, rights.ErrGeneticExtractPending) {
		t.Fatalf("access before the extract: %v", err)
	}
	if len(asked) != 1 || asked[0].AskedBy != "LH-USR-dpo" || asked[0].Request != "REQ-7" {
		t.Fatalf("asks: %+v", asked)
	}
	pending, err := rights.PendingGeneticAsks(f.ctx, f.st)
	if err != nil || len(pending) != 1 {
		t.Fatalf("pending: %v %+v", err, pending)
	}
	// Only the curator profile, and not the DPO who asked.
	if _, err := rights.PrepareGeneticExtract(f.ctx, f.dpoWH, keys.ProfileDPO, "LH-USR-dpo", "REQ-7", rights.GeneticTrust{Signer: dpoOp, Dir: dir}, f.now); !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("the dpo prepared the extract: %v", err)
	}
	if _, err := rights.PrepareGeneticExtract(f.ctx, cur, keys.ProfileCurator, "LH-USR-cur", "REQ-8", rights.GeneticTrust{Signer: curOp, Dir: dir}, f.now); !errors.Is(err, rights.ErrNoGeneticAsk) {
		t.Fatalf("an extract with no ask: %v", err)
	}
	e, err := rights.PrepareGeneticExtract(f.ctx, cur, keys.ProfileCurator, "LH-USR-cur", "REQ-7", rights.GeneticTrust{Signer: curOp, Dir: dir}, f.now)
	if err != nil {
		t.Fatal(err)
	}
	if e.Rows != 1 || e.ExtractedBy != "LH-USR-cur" || len(e.Sig) == 0 {
		t.Fatalf("extract: %+v", e)
	}
	// The records hold no identifier, nor the genetic value in clear.
	raw := string(f.readPrefix(t, rights.GeneticPrefix))
	if leak := warehousetest.ContainsAny([]byte(raw), append(f.A.identifiers(), "BRCA1")); leak != "" {
		t.Fatalf("genetic records hold %q", leak)
	}
	// An edited extract record is refused.
	var recKey string
	for info, err := range f.st.List(f.ctx, rights.GeneticPrefix) {
		if err == nil && strings.HasSuffix(info.Key, "extract.json") {
			recKey = info.Key
		}
	}
	orig, _ := os.ReadFile(filepath.Join(f.dir, "wh", recKey))
	os.WriteFile(filepath.Join(f.dir, "wh", recKey), []byte(strings.Replace(string(orig), `"rows":1`, `"rows":2`, 1)), 0o600)
	if _, err := s.Access(f.ctx, req("REQ-7"), subjNIR(f.A), out); !errors.Is(err, rights.ErrGeneticExtract) {
		t.Fatalf("an edited extract: %v", err)
	}
	os.WriteFile(filepath.Join(f.dir, "wh", recKey), orig, 0o600)
	rep, err := s.Access(f.ctx, req("REQ-7"), subjNIR(f.A), out)
	if err != nil {
		t.Fatal(err)
	}
	g, err := os.ReadFile(filepath.Join(outDir, "genetic.csv"))
	if err != nil || rep.Genetic != 1 || !strings.Contains(string(g), "BRCA1") {
		t.Fatalf("package: genetic %d, %v: %s", rep.Genetic, err, g)
	}
	if _, err := f.st.Stat(f.ctx, strings.Replace(recKey, "extract.json", "extract.enc", 1)); !errors.Is(err, objstore.ErrNotExist) {
		t.Fatalf("the extract stays after delivery: %v", err)
	}
	if _, err := s.Access(f.ctx, req("REQ-7"), subjNIR(f.A), out); err == nil || !strings.Contains(err.Error(), "delivered") {
		t.Fatalf("a second delivery: %v", err)
	}
	// Once operators are enrolled, a curator who is nobody in particular
	// cannot prepare, and an extract record made unsigned is refused.
	if _, err := s.Access(f.ctx, req("REQ-9"), subjNIR(f.A), out); !errors.Is(err, rights.ErrGeneticExtractPending) {
		t.Fatal(err)
	}
	if _, err := rights.PrepareGeneticExtract(f.ctx, cur, keys.ProfileCurator, "LH-SVC-curator", "REQ-9", rights.GeneticTrust{Dir: dir}, f.now); !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("an unsigned extract prepared: %v", err)
	}
	if _, err := rights.PrepareGeneticExtract(f.ctx, cur, keys.ProfileCurator, "LH-USR-cur", "REQ-9", rights.GeneticTrust{Signer: curOp, Dir: dir}, f.now); err != nil {
		t.Fatal(err)
	}
	for info, err := range f.st.List(f.ctx, rights.GeneticPrefix) {
		if err == nil && strings.HasSuffix(info.Key, "extract.json") && info.Key != recKey {
			p := filepath.Join(f.dir, "wh", info.Key)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, regexp.MustCompile(`,"sig":"[^"]*"`).ReplaceAll(b, nil), 0o600)
		}
	}
	if _, err := s.Access(f.ctx, req("REQ-9"), subjNIR(f.A), out); !errors.Is(err, rights.ErrGeneticExtract) {
		t.Fatalf("an unsigned extract: %v", err)
	}
	// A DPO who is nobody in particular cannot ask.
	anon, _ := f.strict(t, rights.GeneticTrust{Dir: dir})
	if _, err := anon.Access(f.ctx, req("REQ-10"), subjNIR(f.A), out); !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("an unsigned ask: %v", err)
	}
}
