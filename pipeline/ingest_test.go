package pipeline_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"hdw/keys"
	"hdw/masking/maskingtest"
	"hdw/objstore"
	"hdw/pipeline"
	"hdw/pseudo"
	"hdw/synth"
	"hdw/warehouse"
	"hdw/warehouse/warehousetest"
)

// fakeKeys is a minimal in-memory provider: store keys are symmetric, the
// wrapped form is the DEK xor a store secret (unit tests only).
type fakeKeys struct {
	mu      sync.Mutex
	secrets map[string][]byte
	fail    bool
}

func newFakeKeys() *fakeKeys { return &fakeKeys{secrets: map[string][]byte{}} }

func (f *fakeKeys) secret(name string) []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.secrets[name]
	if !ok {
		s = make([]byte, 32)
		rand.Read(s)
		f.secrets[name] = s
	}
	return s
}

func xor(a, b []byte) []byte {
	out := make([]byte, len(a))
	for i := range a {
		out[i] = a[i] ^ b[i]
	}
	return out
}

func (f *fakeKeys) NewDataKeys(ctx context.Context, store string, n int) ([]keys.DataKey, error) {
	if f.fail {
		return nil, keys.ErrUnavailable
	}
	var out []keys.DataKey
	for i := 0; i < n; i++ {
		k := keys.RandomSecret()
		out = append(out, keys.DataKey{Key: k, Wrapped: xor(k.Bytes(), f.secret(store))})
	}
	return out, nil
}

func (f *fakeKeys) Unwrap(ctx context.Context, store string, w [][]byte) ([]keys.Secret, error) {
	var out []keys.Secret
	for _, b := range w {
		out = append(out, keys.NewSecret(xor(b, f.secret(store))))
	}
	return out, nil
}

func (f *fakeKeys) PseudonymKey(ctx context.Context, name string) (keys.Secret, error) {
	if f.fail {
		return keys.Secret{}, fmt.Errorf("vault down: %w", keys.ErrUnavailable)
	}
	return keys.NewSecret(f.secret(name)), nil
}

type env struct {
	ctx  context.Context
	src  *objstore.Local
	wh   *warehouse.Warehouse
	keys *fakeKeys
}

func newEnv(t testing.TB, files map[string]string) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, "src", filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(content), 0o644)
	}
	src, _ := objstore.NewLocal(filepath.Join(dir, "src"))
	st, _ := objstore.NewLocal(filepath.Join(dir, "wh"))
	if err := warehouse.Create(ctx, st, warehouse.Descriptor{ID: "test", KeyProvider: "local"}); err != nil {
		t.Fatal(err)
	}
	k := newFakeKeys()
	wh, err := warehouse.Open(ctx, st, k)
	if err != nil {
		t.Fatal(err)
	}
	return &env{ctx: ctx, src: src, wh: wh, keys: k}
}

func (e *env) run(t *testing.T, mod func(*pipeline.Options)) (*pipeline.Summary, error) {
	t.Helper()
	opt := pipeline.Options{Source: e.src, SourceID: "test", Workers: 3, ScrubText: maskingtest.Scrub, Profile: "ingest"}
	if mod != nil {
		mod(&opt)
	}
	return pipeline.Ingest(e.ctx, e.wh, e.keys, maskingtest.Deidentifier{}, opt)
}

func demoFiles(t *testing.T) map[string]string {
	n1 := synth.NIR("1850578006084")
	return map[string]string{
		"manifest.csv": "file,nir,last_name,first_name,birth_date,sex,postal_code,notes,diagnosis,gene,physician_name\n" +
			"DUPONT_Jean/a.img," + n1 + ",Dupont,Jean,1960-03-14,M,75012,Jean Dupont seen today,C50,BRCA1,Dr Martin\n" +
			"b.img,,Durand,Alice,1970-01-02,F,2A004,note,J45,,\n" +
			"c.img,,Durand,Alice,1970-13-02,F,,,,,\n" +
			",,Petit,Paul,1980-05-06,M,,record only,E11,,\n" +
			"missing.img,,Roux,Eve,1990-01-01,F,,,,,\n" +
			"bad.img,,Blanc,Luc,1991-01-01,M,,,,,\n",
		"DUPONT_Jean/a.img": "IMG payload",
		"b.img":             "IMG payload",
		"c.img":             "IMG payload",
		"bad.img":           "BAD not an image",
		"orphan.img":        "IMG no row",
	}
}

// TestIngestAccounting checks that every input is accounted for and that
// stores are written under their own keys (SEC-LOG-4, SEC-PSE-1).
func TestIngestAccounting(t *testing.T) {
	e := newEnv(t, demoFiles(t))
	sum, err := e.run(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Seen != sum.Ingested+sum.Quarantined+sum.Rejected {
		t.Fatalf("accounting: %+v", sum)
	}
	// rows: a ok, b ok, c bad date, record-only ok, missing rejected, bad quarantined; orphan quarantined
	if sum.Seen != 7 || sum.Ingested != 3 || sum.Rejected != 2 || sum.Quarantined != 2 || !sum.Committed {
		t.Fatalf("summary %+v", sum)
	}
	for _, it := range sum.Items {
		for _, bad := range []string{"Dupont", "Durand", "orphan", "missing.img", "bad.img", "1970-13-02"} {
			if strings.Contains(it.Ref+it.Reason, bad) {
				t.Errorf("item leaks %q: %+v", bad, it)
			}
		}
	}
	// Second run: nothing new.
	sum2, err := e.run(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum2.Ingested != 0 || sum2.Skipped != 3 || sum2.Committed {
		t.Fatalf("rerun %+v", sum2)
	}
	// Decrypt the health store and scan it for identifying strings.
	health := readStore(t, e, "health/")
	for _, bad := range []string{"Dupont", "DUPONT", "Jean", "Durand", "Alice", "1960-03-14", "75012", "Martin", "a.img", synth.NIR("1850578006084")} {
		if bytes.Contains(health, []byte(bad)) {
			t.Errorf("health store contains %q", bad)
		}
	}
	if !bytes.Contains(health, []byte("NAME")) && !bytes.Contains(health, []byte("LAST_NAME")) {
		t.Error("scrubbed notes expected in the health store")
	}
	ident := readStore(t, e, "identity/")
	if !bytes.Contains(ident, []byte("Dupont")) {
		t.Error("identity store must hold the identity")
	}
	gen := readStore(t, e, "genetic/")
	if !bytes.Contains(gen, []byte("BRCA1")) || bytes.Contains(health, []byte("BRCA1")) {
		t.Error("SEC-LOG-6: genetic data belongs to the genetic store only")
	}
}

// readStore decrypts every table and image under prefix and concatenates the plaintext.
func readStore(t *testing.T, e *env, prefix string) []byte {
	t.Helper()
	return warehousetest.Plain(t, e.wh, prefix)
}

func TestIngestKeysUnavailable(t *testing.T) {
	e := newEnv(t, demoFiles(t))
	e.keys.fail = true
	_, err := e.run(t, nil)
	if !errors.Is(err, keys.ErrUnavailable) {
		t.Fatalf("got %v", err)
	}
	n := 0
	for info := range e.wh.St.List(e.ctx, "") {
		if info.Key != "warehouse.json" {
			n++
		}
	}
	if n != 0 {
		t.Fatalf("keys unreachable: nothing may be written, found %d objects", n)
	}
}

func TestIngestDryRunWritesNothing(t *testing.T) {
	e := newEnv(t, demoFiles(t))
	sum, err := e.run(t, func(o *pipeline.Options) { o.DryRun = true })
	if err != nil || sum.Seen != 7 || sum.Committed {
		t.Fatal(err, sum)
	}
	for info := range e.wh.St.List(e.ctx, "") {
		if info.Key != "warehouse.json" {
			t.Fatalf("dry run wrote %s", info.Key)
		}
	}
}

// TestSEC_ALI_1_PurgeAfterCommit checks the transit prefix is purged of what was ingested, only.
func TestSEC_ALI_1_PurgeAfterCommit(t *testing.T) {
	e := newEnv(t, demoFiles(t))
	sum, err := e.run(t, func(o *pipeline.Options) { o.PurgeSource = true })
	if err != nil || sum.Purged != 2 {
		t.Fatal(err, sum)
	}
	for _, k := range []string{"DUPONT_Jean/a.img", "b.img"} {
		if _, err := e.src.Stat(e.ctx, k); !errors.Is(err, objstore.ErrNotExist) {
			t.Errorf("%s not purged", k)
		}
	}
	for _, k := range []string{"bad.img", "orphan.img", "manifest.csv", "c.img"} {
		if _, err := e.src.Stat(e.ctx, k); err != nil {
			t.Errorf("%s must stay for the operator: %v", k, err)
		}
	}
}

func TestOppositionSkipsPerson(t *testing.T) {
	e := newEnv(t, demoFiles(t))
	ok, _ := e.keys.PseudonymKey(e.ctx, keys.PseudoOpposition)
	k, _ := pseudo.New(ok)
	basis, _ := pseudo.Basis(pseudo.Identity{LastName: "DURAND", FirstName: "alice", BirthDate: "1970-01-02", Sex: "F"})
	if _, err := warehouse.AddOpposition(e.ctx, e.wh.St, k, basis); err != nil {
		t.Fatal(err)
	}
	sum, err := e.run(t, nil)
	if err != nil || sum.Opposed != 1 || sum.Ingested != 2 {
		t.Fatal(err, sum)
	}
	if bytes.Contains(readStore(t, e, "identity/"), []byte("Durand")) {
		t.Fatal("opposed person stored")
	}
}

func TestShardsPartition(t *testing.T) {
	files := map[string]string{}
	var b strings.Builder
	b.WriteString("file,last_name,first_name,birth_date,sex\n")
	for i := 0; i < 40; i++ {
		name := fmt.Sprintf("f%02d.img", i)
		files[name] = "IMG x"
		fmt.Fprintf(&b, "%s,Name%d,First,1960-01-01,M\n", name, i)
	}
	files["manifest.csv"] = b.String()
	e := newEnv(t, files)
	var total int64
	for i := 0; i < 3; i++ {
		sum, err := e.run(t, func(o *pipeline.Options) { o.Shard, o.Shards = i, 3 })
		if err != nil {
			t.Fatal(err)
		}
		if sum.Ingested == 0 || sum.Ingested == 40 {
			t.Fatalf("shard %d ingested %d", i, sum.Ingested)
		}
		total += sum.Ingested
	}
	if total != 40 {
		t.Fatalf("shards ingested %d, want 40", total)
	}
	sum, _ := e.run(t, nil)
	if sum.Ingested != 0 || sum.Skipped != 40 {
		t.Fatalf("union must equal a single run: %+v", sum)
	}
}

// TestOppositionByNameBeforeNIR: opposed by name, then a row with a NIR.
func TestOppositionByNameBeforeNIR(t *testing.T) {
	e := newEnv(t, demoFiles(t))
	ok, _ := e.keys.PseudonymKey(e.ctx, keys.PseudoOpposition)
	k, _ := pseudo.New(ok)
	basis, _ := pseudo.Basis(pseudo.Identity{LastName: "Dupont", FirstName: "Jean", BirthDate: "1960-03-14", Sex: "M"})
	warehouse.AddOpposition(e.ctx, e.wh.St, k, basis)
	sum, err := e.run(t, nil)
	if err != nil || sum.Opposed != 1 {
		t.Fatal(err, sum)
	}
}

// TestOversizeRefusedUnread: a file above ingest.max_file_bytes is
// quarantined with a clear reason before any byte is read (a 1 GiB DICOM
// against the default 512 MiB limit behaves the same).
func TestOversizeRefusedUnread(t *testing.T) {
	e := newEnv(t, demoFiles(t))
	sum, err := e.run(t, func(o *pipeline.Options) { o.Mask.MaxBytes = 8 })
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, it := range sum.Items {
		if strings.Contains(it.Reason, "exceeds the limit") && strings.Contains(it.Reason, "max_file_bytes") {
			n++
		}
	}
	if n < 3 {
		t.Fatalf("oversize files not refused: %+v", sum.Items)
	}
}

// TestIngestRejectsMediaIndex: an input the de-identifier refuses as not
// storable (a DICOMDIR, masking.RejectError) is rejected with the reason,
// not quarantined, and it is accounted for (issue 19 item 3).
func TestIngestRejectsMediaIndex(t *testing.T) {
	e := newEnv(t, map[string]string{
		"manifest.csv": "file,last_name,first_name,birth_date,sex\n" +
			"DICOMDIR,Durand,Alice,1970-01-02,F\n" +
			"b.img,Durand,Alice,1970-01-02,F\n",
		"DICOMDIR": "DIR index of the media",
		"b.img":    "IMG payload",
	})
	sum, err := e.run(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Seen != 2 || sum.Ingested != 1 || sum.Rejected != 1 || sum.Quarantined != 0 {
		t.Fatalf("summary %+v", sum)
	}
	found := false
	for _, it := range sum.Items {
		if it.Outcome == pipeline.Rejected && strings.Contains(it.Reason, "media index") {
			found = true
		}
	}
	if !found {
		t.Fatalf("no rejection naming the media index: %+v", sum.Items)
	}
}
