package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// ErrTooLarge is wrapped by a bounded read ([ReadAll], [ReadAtMost]) of
// more bytes than its limit: the object is refused, never truncated.
var ErrTooLarge = errors.New("objstore: object larger than the limit for its kind (refused, not truncated)")

// ReadAtMost reads r to its end, refusing more than max bytes with an
// error wrapping [ErrTooLarge].
func ReadAtMost(r io.Reader, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%w: over %d bytes", ErrTooLarge, max)
	}
	return b, nil
}

// ReadAll reads the whole object key of at most max bytes. Open errors are
// returned as they are (errors.Is(err, [ErrNotExist]) holds for a missing
// object); a larger object is refused with an error wrapping [ErrTooLarge].
func ReadAll(ctx context.Context, st Store, key string, max int64) ([]byte, error) {
	r, err := st.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := ReadAtMost(r, max)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", key, err)
	}
	return b, nil
}
