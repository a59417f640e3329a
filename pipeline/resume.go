package pipeline

import (
	"context"
	"errors"
	"io"

	"hdw/objstore"
)

// maxResumes bounds the reopenings in a row that read nothing.
const maxResumes = 5

// resumingReader reads an object to its end, reopening it from the offset
// reached when a read fails (the manifest is read for the whole ingest, as
// fast as the workers take its rows, so its connection may be cut by a
// server or a proxy in between). The object must be unchanged (same ETag);
// a changed manifest stops the run (objstore.ErrChanged), as the rows
// already given to the workers may no longer be its rows.
type resumingReader struct {
	ctx     context.Context
	st      objstore.RangeOpener
	key     string
	etag    string
	rc      io.ReadCloser
	off     int64
	resumes int
}

func (r *resumingReader) Read(p []byte) (int, error) {
	for {
		n, err := r.rc.Read(p)
		r.off += int64(n)
		if err == nil || errors.Is(err, io.EOF) {
			return n, err
		}
		if n > 0 {
			r.resumes = 0 // the bound is on reopenings in a row that read nothing
		} else if r.resumes++; r.resumes > maxResumes || r.ctx.Err() != nil {
			return 0, err
		}
		r.rc.Close()
		rc, oerr := r.st.OpenRange(r.ctx, r.key, r.off, r.etag)
		if oerr != nil {
			r.rc = io.NopCloser(errReader{oerr})
			return n, oerr
		}
		r.rc = rc
		if n > 0 {
			return n, nil
		}
	}
}

func (r *resumingReader) Close() error { return r.rc.Close() }

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
