package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"syscall"
	"testing"

	"hdw/objstore"
	"hdw/pipeline"
)

// cutSource is a local source whose manifest connection is cut after cut
// bytes at every opening, as a server or proxy may cut a stream read for a
// whole ingest; OpenRange resumes (or reports a changed object).
type cutSource struct {
	*objstore.Local
	cut     int64
	changed bool
	opens   int
}

type cutReader struct {
	r    io.ReadCloser
	left int64
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, fmt.Errorf("read tcp 127.0.0.1:9000: %w", syscall.ECONNRESET)
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

func (c *cutReader) Close() error { return c.r.Close() }

func (s *cutSource) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, err := s.Local.Open(ctx, key)
	if err != nil || !strings.HasSuffix(key, ".csv") {
		return rc, err
	}
	return &cutReader{r: rc, left: s.cut}, nil
}

func (s *cutSource) OpenRange(ctx context.Context, key string, off int64, etag string) (io.ReadCloser, error) {
	s.opens++
	if s.changed {
		return nil, fmt.Errorf("%s: %w", key, objstore.ErrChanged)
	}
	info, err := s.Local.Stat(ctx, key)
	if err != nil || info.ETag != etag {
		return nil, fmt.Errorf("%s: %w", key, objstore.ErrChanged)
	}
	rc, err := s.Local.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	if _, err := io.CopyN(io.Discard, rc, off); err != nil {
		rc.Close()
		return nil, err
	}
	return &cutReader{r: rc, left: s.cut}, nil
}

func manyRows(n int) map[string]string {
	files := map[string]string{}
	var m strings.Builder
	m.WriteString("file,last_name,first_name,birth_date,sex,notes\n")
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("f%04d.img", i)
		files[name] = "IMG payload"
		fmt.Fprintf(&m, "%s,Nom%d,Prenom,1960-01-01,M,note %d\n", name, i, i)
	}
	files["manifest.csv"] = m.String()
	return files
}

// TestManifestStreamResumes: the manifest is streamed for the whole run; a
// cut connection is resumed from where it stopped (objstore.RangeOpener),
// and every row is ingested once.
func TestManifestStreamResumes(t *testing.T) {
	e := newEnv(t, manyRows(300))
	src := &cutSource{Local: e.src, cut: 4096}
	sum, err := e.run(t, func(o *pipeline.Options) { o.Source = src })
	if err != nil {
		t.Fatal(err)
	}
	if sum.Ingested != 300 || sum.Seen != 300 || !sum.Committed {
		t.Errorf("summary %+v, want 300 ingested and committed", sum)
	}
	if src.opens < 2 {
		t.Errorf("%d reopenings of a manifest cut every 4 KiB, want several", src.opens)
	}
}

// TestManifestChangedStopsRun: a manifest replaced while it is streamed is
// a global failure: nothing is committed, the message says what to do.
func TestManifestChangedStopsRun(t *testing.T) {
	e := newEnv(t, manyRows(300))
	src := &cutSource{Local: e.src, cut: 4096, changed: true}
	sum, err := e.run(t, func(o *pipeline.Options) { o.Source = src })
	if err == nil || !strings.Contains(err.Error(), "replaced during the ingest") {
		t.Fatalf("err = %v, want the manifest replaced", err)
	}
	var me *pipeline.ManifestError
	if !errors.As(err, &me) {
		t.Errorf("err %T, want a *ManifestError", err)
	}
	if sum != nil && sum.Committed {
		t.Error("batch committed after the manifest changed")
	}
	cs, cerr := e.wh.Commits(e.ctx)
	if cerr != nil || len(cs) != 0 {
		t.Errorf("commits %d (%v), want none", len(cs), cerr)
	}
	// A rerun on the unchanged manifest ingests everything.
	sum, err = e.run(t, nil)
	if err != nil || sum.Ingested != 300 {
		t.Fatalf("rerun: %v %+v", err, sum)
	}
}
