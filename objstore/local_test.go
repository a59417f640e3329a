package objstore_test

import (
	"testing"

	"hdw/objstore"
	"hdw/objstore/storetest"
)

func TestLocalConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) objstore.Store { return newLocal(t) })
}

// newLocal returns a local store in a fresh temporary folder.
func newLocal(t *testing.T) *objstore.Local {
	t.Helper()
	s, err := objstore.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}
