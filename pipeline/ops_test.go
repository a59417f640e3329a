package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hdw/masking"
	"hdw/masking/maskingtest"
	"hdw/objstore"
	"hdw/objstore/storetest"
	"hdw/pipeline"
	"hdw/synth"
	"hdw/warehouse"
)

// gateDeid is maskingtest.Deidentifier that blocks every image until gate is closed, and
// says when the first one started.
type gateDeid struct {
	gate    chan struct{}
	started chan struct{}
	once    sync.Once
}

func (g *gateDeid) Deidentify(ctx context.Context, dst io.Writer, src io.Reader, size int64, p masking.Person, o masking.Options) (masking.Result, error) {
	g.once.Do(func() { close(g.started) })
	<-g.gate
	return maskingtest.Deidentifier{}.Deidentify(ctx, dst, src, size, p, o)
}

func countImages(t *testing.T, e *env) int {
	t.Helper()
	return storetest.Count(t, e.wh.St, "health/images/")
}

// TestIngestOneAtATime: a second ingest on the same warehouse stops with
// "another ingest (operator, since) is running"; a third with Wait waits,
// then skips all the first one committed: every image once.
func TestIngestOneAtATime(t *testing.T) {
	e := newEnv(t, demoFiles(t))
	g := &gateDeid{gate: make(chan struct{}), started: make(chan struct{})}
	opt := func(o *pipeline.Options) {
		o.Operator, o.LeaseTTL = "alice", 3*time.Second
	}
	var first *pipeline.Summary
	var firstErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		o := pipeline.Options{Source: e.src, SourceID: "test", Workers: 2, ScrubText: maskingtest.Scrub, Profile: "ingest"}
		opt(&o)
		first, firstErr = pipeline.Ingest(e.ctx, e.wh, e.keys, g, o)
	}()
	<-g.started
	_, err := e.run(t, func(o *pipeline.Options) { o.Operator = "bob" })
	var re *pipeline.RunningError
	if !errors.Is(err, pipeline.ErrIngestRunning) || !errors.As(err, &re) || re.Operator != "alice" ||
		!strings.Contains(err.Error(), "another ingest (alice, since ") {
		t.Fatalf("second run: %v", err)
	}
	waited := make(chan struct{})
	var third *pipeline.Summary
	var thirdErr error
	go func() {
		defer close(waited)
		third, thirdErr = e.run(t, func(o *pipeline.Options) { o.Operator, o.Wait, o.LeaseTTL = "carol", true, 300*time.Millisecond })
	}()
	time.Sleep(1500 * time.Millisecond) // longer than the first's heartbeat period: its lease stays live
	select {
	case <-waited:
		t.Fatalf("the waiting run did not wait: %v", thirdErr)
	default:
	}
	close(g.gate)
	<-done
	<-waited
	if firstErr != nil || thirdErr != nil {
		t.Fatal(firstErr, thirdErr)
	}
	if first.Ingested != 3 || third.Ingested != 0 || third.Skipped != 3 {
		t.Fatalf("first %+v\nthird %+v", first, third)
	}
	if n := countImages(t, e); n != 2 {
		t.Fatalf("%d images stored, want 2 (each once)", n)
	}
	if _, err := e.wh.St.Stat(e.ctx, pipeline.RunLeaseKey(0, 0)); err == nil {
		t.Fatal("the run lease was left behind")
	}
}

// TestIngestStaleLeasesCleaned: a run lease whose run died (expired) is
// removed by the next run, and so is a batch lease left after its commit.
func TestIngestStaleLeasesCleaned(t *testing.T) {
	e := newEnv(t, demoFiles(t))
	sum, err := e.run(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A run that died after its commit, before removing its leases.
	left := warehouse.PendingKey(sum.Batch)
	objstore.WriteJSON(e.ctx, e.wh.St, left, map[string]any{"batch": sum.Batch, "expires": time.Now().Add(time.Hour)})
	objstore.WriteJSON(e.ctx, e.wh.St, pipeline.RunLeaseKey(0, 0), map[string]any{"token": "x", "operator": "dead", "since": time.Now().Add(-time.Hour), "expires": time.Now().Add(-time.Minute)})
	if _, err := e.run(t, nil); err != nil {
		t.Fatalf("a stale run lease blocks: %v", err)
	}
	if _, err := e.wh.St.Stat(e.ctx, left); err == nil {
		t.Fatal("the batch lease left after its commit was not cleaned")
	}
	// A run killed with SIGKILL on this host: its lease is live for an hour
	// more, but its process is gone.
	dead := exec.Command("true")
	dead.Run()
	host, _ := os.Hostname()
	objstore.WriteJSON(e.ctx, e.wh.St, pipeline.RunLeaseKey(0, 0), map[string]any{"token": "y", "operator": "killed", "since": time.Now(),
		"expires": time.Now().Add(time.Hour), "host": host, "pid": dead.ProcessState.Pid()})
	if _, err := e.run(t, nil); err != nil {
		t.Fatalf("the lease of a dead process blocks: %v", err)
	}
	// Shards hold one lease each: two shards run at once.
	if pipeline.RunLeaseKey(1, 4) == pipeline.RunLeaseKey(2, 4) || pipeline.RunLeaseKey(1, 4) == pipeline.RunLeaseKey(0, 0) {
		t.Fatal("shard leases must differ")
	}
}

// TestIngestContentDedupePerPerson: the same image content for the same
// person (copied into another folder, uploaded again) is stored once; the
// copies are rejected as duplicates and counted; the same content for
// another person is not a duplicate. The index holds keyed hashes only.
func TestIngestContentDedupePerPerson(t *testing.T) {
	n1 := synth.NIR("1850578006084")
	files := map[string]string{
		"manifest.csv": "file,nir,last_name,first_name,birth_date,sex\n" +
			"DUPONT/a.img," + n1 + ",Dupont,Jean,1960-03-14,M\n" +
			"copy/DUPONT/a.img," + n1 + ",Dupont,Jean,1960-03-14,M\n" +
			"b.img,,Durand,Alice,1970-01-02,F\n",
		"DUPONT/a.img":      "IMG same bytes",
		"copy/DUPONT/a.img": "IMG same bytes",
		"b.img":             "IMG same bytes",
	}
	e := newEnv(t, files)
	sum, err := e.run(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Ingested != 2 || sum.Duplicates != 1 || sum.Rejected != 1 || sum.Seen != 3 {
		t.Fatalf("%+v", sum)
	}
	// The same files uploaded again under other names: all duplicates.
	e2 := *e
	e2src := newEnv(t, map[string]string{
		"manifest.csv": "file,nir,last_name,first_name,birth_date,sex\nagain.img," + n1 + ",Dupont,Jean,1960-03-14,M\n",
		"again.img":    "IMG same bytes",
	}).src
	e2.src = e2src
	sum2, err := e2.run(t, func(o *pipeline.Options) { o.SourceID = "another upload" })
	if err != nil && sum2 == nil {
		t.Fatal(err)
	}
	if sum2.Ingested != 0 || sum2.Duplicates != 1 {
		t.Fatalf("re-upload: %+v", sum2)
	}
	if n := countImages(t, e); n != 2 {
		t.Fatalf("%d images stored, want 2", n)
	}
	for info := range e.wh.St.List(e.ctx, "batches/") { // sources and contents
		rc, _ := e.wh.St.Open(e.ctx, info.Key)
		b, _ := io.ReadAll(rc)
		rc.Close()
		for _, bad := range []string{"DUPONT", "a.img", n1, "same bytes"} {
			if bytes.Contains(b, []byte(bad)) {
				t.Fatalf("commit record holds %q", bad)
			}
		}
	}
}

// TestSEC_ALI_1_PurgeRewritesManifestAndFolders: --purge-source on an
// untrusted upload folder removes the ingested files and the folders they
// emptied (named after patients), and rewrites the manifest to the rows
// that stay (quarantined, rejected), which a corrected rerun takes.
func TestSEC_ALI_1_PurgeRewritesManifestAndFolders(t *testing.T) {
	e := newEnv(t, demoFiles(t))
	src, err := objstore.NewSource(e.src.Root())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	sum, err := e.run(t, func(o *pipeline.Options) { o.PurgeSource = true; o.Source = src })
	if err != nil || !sum.ManifestRewritten || sum.Purged != 2 {
		t.Fatalf("%v %+v", err, sum)
	}
	if _, err := os.Stat(filepath.Join(e.src.Root(), "DUPONT_Jean")); !os.IsNotExist(err) {
		t.Fatal("the emptied patient folder was left")
	}
	b, _ := os.ReadFile(filepath.Join(e.src.Root(), "manifest.csv"))
	m := string(b)
	for _, gone := range []string{"Dupont", "Alice,1970-01-02", "Petit"} {
		if strings.Contains(m, gone) {
			t.Fatalf("an ingested row stays in the manifest (%s):\n%s", gone, m)
		}
	}
	for _, stays := range []string{"file,nir,last_name", "1970-13-02", "missing.img", "bad.img"} {
		if !strings.Contains(m, stays) {
			t.Fatalf("a row that stays is gone (%s):\n%s", stays, m)
		}
	}
	// The rerun reads the rewritten manifest: nothing ingested twice.
	sum2, _ := e.run(t, func(o *pipeline.Options) { o.Source = src })
	if sum2.Ingested != 0 {
		t.Fatalf("rerun %+v", sum2)
	}
}

// TestIngestHostileLocalUpload: a symlink leaving the upload, a FIFO and
// a symlinked folder named in the manifest are refused, each with its
// reason in the summary; nothing outside the upload is read; no hang.
func TestIngestHostileLocalUpload(t *testing.T) {
	n1 := synth.NIR("1850578006084")
	e := newEnv(t, map[string]string{
		"manifest.csv": "file,nir,last_name,first_name,birth_date,sex\n" +
			"ok.img," + n1 + ",Dupont,Jean,1960-03-14,M\n" +
			"escape.img,,Durand,Alice,1970-01-02,F\n" +
			"fifo.img,,Petit,Paul,1980-05-06,M\n" +
			"linkdir/secret.img,,Roux,Eve,1990-01-01,F\n",
		"ok.img": "IMG fine",
	})
	root := e.src.Root()
	storetest.Hostile(t, root, ".img", []byte("IMG outside DUPONT"))
	src, err := objstore.NewSource(root)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
	defer cancel()
	opt := pipeline.Options{Source: src, SourceID: "hostile", Workers: 2, ScrubText: maskingtest.Scrub, Profile: "ingest"}
	sum, err := pipeline.Ingest(ctx, e.wh, e.keys, maskingtest.Deidentifier{}, opt)
	if err != nil {
		t.Fatal(err)
	}
	// 4 rows, and the symlinked folder as an entry without a row.
	if sum.Ingested != 1 || sum.Seen != 5 || sum.Seen != sum.Ingested+sum.Quarantined+sum.Rejected {
		t.Fatalf("%+v", sum)
	}
	refused := 0
	for _, it := range sum.Items {
		if strings.Contains(it.Reason, "not a regular file") || strings.Contains(it.Reason, "no such file in the upload") || strings.Contains(it.Ref, "refused entry") {
			refused++
		}
		if strings.Contains(it.Ref+it.Reason, "secret") || strings.Contains(it.Ref+it.Reason, "escape") {
			t.Fatalf("a name leaks: %+v", it)
		}
	}
	if refused != 4 {
		t.Fatalf("items %+v", sum.Items)
	}
	if bytes.Contains(readStore(t, e, "health/"), []byte("outside")) {
		t.Fatal("a file outside the upload was ingested")
	}
}

// netFaultSource cuts the read of every image after a few bytes, as a
// network fault would.
type netFaultSource struct{ *objstore.Local }

type netCutReader struct {
	io.ReadCloser
	n int
}

func (c *netCutReader) Read(p []byte) (int, error) {
	if c.n >= 4 {
		return 0, errors.New("connection reset by peer")
	}
	if len(p) > 4-c.n {
		p = p[:4-c.n]
	}
	n, err := c.ReadCloser.Read(p)
	c.n += n
	return n, err
}

func (s netFaultSource) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, err := s.Local.Open(ctx, key)
	if err != nil || strings.HasSuffix(key, ".csv") {
		return rc, err
	}
	return &netCutReader{ReadCloser: rc}, nil
}

// TestIngestNetworkFaultIsNotADamagedFile: a read cut by the network is
// reported as a source fault to rerun, not as a damaged file; nothing is
// committed for it and the rerun ingests it.
func TestIngestNetworkFaultIsNotADamagedFile(t *testing.T) {
	e := newEnv(t, demoFiles(t))
	sum, err := e.run(t, func(o *pipeline.Options) { o.Source = netFaultSource{e.src} })
	if err != nil {
		t.Fatal(err)
	}
	faults := 0
	for _, it := range sum.Items {
		if strings.Contains(it.Reason, "not a problem of the file; rerun") {
			faults++
		}
		if strings.Contains(it.Reason, "unsupported") && it.Ref != "manifest.csv row 6" { // row 6 is bad.img, really unsupported
			t.Fatalf("a network fault reported as a damaged file: %+v", it)
		}
	}
	if faults != 2 || sum.Images != 0 {
		t.Fatalf("%d faults: %+v", faults, sum)
	}
	sum2, err := e.run(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sum2.Images != 2 {
		t.Fatalf("rerun %+v", sum2)
	}
}
