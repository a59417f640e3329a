package warehouse_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"hdw/keys"
	"hdw/keys/keystest"
	"hdw/masking"
	"hdw/objstore"
	"hdw/objstore/storetest"
	"hdw/pipeline"
	"hdw/warehouse"
)

// This file checks the crash-safety argument of the package documentation
// end to end: an ingest is cut short (the process dies: every later write
// fails), then a power loss drops what was never made durable
// (objstore.TestDropUnsynced); after a restart, the next ingest removes the
// uncommitted batch and the warehouse equals that of a clean run.

var errCrashed = errors.New("process died")

// dying is a warehouse store that dies after a number of image writes, or
// when the commit record is written: every later mutation fails, and
// writers open at that moment are neither published nor removed.
type dying struct {
	*objstore.Local
	mu         sync.Mutex
	imagesLeft int  // image writes allowed before dying (-1: die at the commit)
	dead       bool // once set, nothing more reaches the disk
}

func (d *dying) died() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.dead
}

func (d *dying) Create(ctx context.Context, key string) (io.WriteCloser, error) {
	d.mu.Lock()
	if !d.dead && strings.HasPrefix(key, "health/images/") && d.imagesLeft >= 0 {
		if d.imagesLeft == 0 {
			d.dead = true
		}
		d.imagesLeft--
	}
	dead := d.dead
	d.mu.Unlock()
	if dead {
		return nil, errCrashed
	}
	w, err := d.Local.Create(ctx, key)
	if err != nil {
		return nil, err
	}
	return &dyingWriter{w: w, d: d}, nil
}

func (d *dying) PutIfAbsent(ctx context.Context, key string, r io.Reader) error {
	d.mu.Lock()
	if strings.HasPrefix(key, "batches/") {
		d.dead = true
	}
	dead := d.dead
	d.mu.Unlock()
	if dead {
		return errCrashed
	}
	return d.Local.PutIfAbsent(ctx, key, r)
}

func (d *dying) Delete(ctx context.Context, key string) error {
	if d.died() {
		return errCrashed
	}
	return d.Local.Delete(ctx, key)
}

type dyingWriter struct {
	w io.WriteCloser
	d *dying
}

func (w *dyingWriter) Write(p []byte) (int, error) {
	if w.d.died() {
		return 0, errCrashed
	}
	return w.w.Write(p)
}

func (w *dyingWriter) Close() error {
	if w.d.died() {
		return errCrashed
	}
	return w.w.Close()
}

func (w *dyingWriter) Abort() error {
	if w.d.died() {
		return errCrashed // a dead process removes nothing
	}
	return objstore.Abort(w.w)
}

// echoDeid "de-identifies" an image into a deterministic payload.
type echoDeid struct{}

func (echoDeid) Deidentify(ctx context.Context, dst io.Writer, src io.Reader, size int64, p masking.Person, o masking.Options) (masking.Result, error) {
	b, err := io.ReadAll(src)
	if err != nil {
		return masking.Result{}, err
	}
	fmt.Fprintf(dst, "CLEAN %s %d", p.Pseudonym, len(b))
	return masking.Result{Format: "fake", Modality: "OT"}, nil
}

const crashImages = 24

// crashSource writes a synthetic upload: crashImages images, one per
// made-up person, and a manifest.
func crashSource(t *testing.T) *objstore.Local {
	t.Helper()
	dir := t.TempDir()
	var m strings.Builder
	m.WriteString("file,last_name,first_name,birth_date,sex,notes\n")
	for i := range crashImages {
		name := fmt.Sprintf("img%02d.bin", i)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.Repeat("x", 100+i)), 0o600); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&m, "%s,Synth%d,Test,1970-01-%02d,F,note %d\n", name, i, i%28+1, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.csv"), []byte(m.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	src := storetest.Local(t, dir)
	return src
}

func ingest(t *testing.T, st objstore.Store, vault *keystest.FakeVault, src objstore.Store, now time.Time) (*pipeline.Summary, error) {
	t.Helper()
	ctx := context.Background()
	k := keystest.NewFake(keys.ProfileIngest, vault)
	wh, err := warehouse.Open(ctx, st, k)
	if err != nil {
		t.Fatal(err)
	}
	return pipeline.Ingest(ctx, wh, k, echoDeid{}, pipeline.Options{
		Source: src, SourceID: "crash-test", Workers: 3, Profile: keys.ProfileIngest,
		ScrubText: func(s string, _ masking.Person) string { return s },
		Now:       func() time.Time { return now },
	})
}

func newWarehouseDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	st := storetest.Local(t, dir)
	if err := warehouse.Create(context.Background(), st, warehouse.Descriptor{ID: "crash", KeyProvider: "local"}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// content is what a warehouse holds, without batch ids, tokens and record
// ids: committed sources and counts, images (pseudonym and plaintext hash),
// health rows; plus the keys of objects no commit record accounts for.
type content struct {
	sources, images, rows []string
	ingested              int64
	strays                []string
}

func contentOf(t *testing.T, dir string, vault *keystest.FakeVault) content {
	t.Helper()
	st := storetest.Local(t, dir)
	return contentOfStore(t, st, vault)
}

// contentOfStore is contentOf for any store (a local folder or S3).
func contentOfStore(t *testing.T, st objstore.Store, vault *keystest.FakeVault) content {
	t.Helper()
	ctx := context.Background()
	wh, err := warehouse.Open(ctx, st, keystest.NewFake(keys.ProfileCurator, vault))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := wh.Commits(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var c content
	owned := map[string]bool{"warehouse.json": true}
	for _, cm := range cs {
		c.sources = append(c.sources, cm.Sources...)
		c.ingested += cm.Counts["ingested"]
		owned[warehouse.CommitKey(cm.Batch)] = true
		owned[warehouse.BatchKeysKey(cm.Batch)] = true
		for _, o := range cm.Objects {
			owned[o.Key] = true
			if strings.HasPrefix(o.Key, "health/images/") {
				c.images = append(c.images, strings.Split(o.Key, "/")[2]+" "+o.SHA256)
			}
		}
		dek, err := wh.DataKey(ctx, cm.Batch, keys.Health)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := warehouse.ReadEncryptedTable(ctx, st, warehouse.HealthTableKey(cm.Batch), dek, func(r map[string]string) error {
			m := maps.Clone(r)
			for _, k := range []string{"record_id", "batch", "image_key", "collected"} {
				delete(m, k)
			}
			keys := slices.Sorted(maps.Keys(m))
			var b strings.Builder
			for _, k := range keys {
				fmt.Fprintf(&b, "%s=%s;", k, m[k])
			}
			c.rows = append(c.rows, b.String())
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	for info, err := range st.List(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		if !owned[info.Key] {
			c.strays = append(c.strays, info.Key)
		}
	}
	for _, s := range [][]string{c.sources, c.images, c.rows} {
		sort.Strings(s)
	}
	return c
}

func TestCrashBeforeCommitRerunEqualsCleanRun(t *testing.T) {
	vault := keystest.NewFakeVault()
	src := crashSource(t)
	now := time.Now()

	cleanDir := newWarehouseDir(t)
	cleanSt := storetest.Local(t, cleanDir)
	sum, err := ingest(t, cleanSt, vault, src, now)
	if err != nil || sum.Ingested != crashImages || !sum.Committed {
		t.Fatalf("clean run: %v %+v", err, sum)
	}
	clean := contentOf(t, cleanDir, vault)
	if len(clean.images) != crashImages || len(clean.rows) != crashImages || len(clean.strays) != 0 {
		t.Fatalf("clean run content %+v", clean)
	}

	tests := []struct {
		name       string
		imagesLeft int
	}{
		{"before the first image", 0},
		{"halfway", crashImages / 2},
		{"at the commit record, after the flush", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := newWarehouseDir(t)
			l := storetest.Local(t, dir)
			d := &dying{Local: l, imagesLeft: tt.imagesLeft}
			sum, err := ingest(t, d, vault, src, now)
			if !d.died() || (err == nil && sum.Committed) {
				t.Fatalf("the run survived: %v %+v", err, sum)
			}
			// Power loss, then restart: a new store on the same folder.
			lost := objstore.TestDropUnsynced(l)
			if tt.imagesLeft == -1 && len(lost) != 0 {
				t.Fatalf("flushed before the commit record, yet lost %v", lost)
			}
			if tt.imagesLeft == crashImages/2 && len(lost) == 0 {
				t.Fatal("nothing was deferred: the test does not exercise the loss")
			}
			if got := contentOf(t, dir, vault); len(got.sources) != 0 || len(got.strays) == 0 {
				t.Fatalf("after the crash: %+v, want nothing committed and the batch's leftovers", got)
			}
			st := storetest.Local(t, dir)
			later := now.Add(time.Hour) // the lease has expired
			sum, err = ingest(t, st, vault, src, later)
			if err != nil || !sum.Committed || sum.Orphans != 1 || sum.Ingested != crashImages {
				t.Fatalf("rerun: %v %+v", err, sum)
			}
			got := contentOf(t, dir, vault)
			if !slices.Equal(got.sources, clean.sources) || !slices.Equal(got.images, clean.images) ||
				!slices.Equal(got.rows, clean.rows) || got.ingested != clean.ingested || len(got.strays) != 0 {
				t.Fatalf("rerun after the crash differs from a clean run:\n got %+v\nwant %+v", got, clean)
			}
			sum, err = ingest(t, st, vault, src, later)
			if err != nil || sum.Ingested != 0 || sum.Skipped != crashImages {
				t.Fatalf("second rerun: %v %+v", err, sum)
			}
		})
	}
}
