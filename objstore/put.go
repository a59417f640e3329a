package objstore

import (
	"context"
	"io"
)

// Put writes r to key atomically (replacing it): Create, copy, Close; on
// an error the half-written object is aborted, never committed.
func Put(ctx context.Context, st Store, key string, r io.Reader) error {
	w, err := st.Create(ctx, key)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		Abort(w)
		return err
	}
	return w.Close()
}
