package objstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"hdw/objstore"
	"hdw/objstore/storetest"
)

// ReadAll reads an object up to its limit, refuses (never truncates) one
// over it, and keeps ErrNotExist for a missing object.
func TestReadAllBounded(t *testing.T) {
	ctx, st := context.Background(), storetest.Local(t, t.TempDir())
	if err := objstore.Put(ctx, st, "a/b", strings.NewReader("12345")); err != nil {
		t.Fatal(err)
	}
	if b, err := objstore.ReadAll(ctx, st, "a/b", 5); err != nil || string(b) != "12345" {
		t.Fatalf("at the limit: %q, %v", b, err)
	}
	if b, err := objstore.ReadAll(ctx, st, "a/b", 4); !errors.Is(err, objstore.ErrTooLarge) || b != nil {
		t.Fatalf("over the limit: %q, %v, want ErrTooLarge", b, err)
	}
	if _, err := objstore.ReadAll(ctx, st, "a/missing", 5); !errors.Is(err, objstore.ErrNotExist) {
		t.Fatalf("missing: %v, want ErrNotExist", err)
	}
}
