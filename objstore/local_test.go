package objstore_test

import (
	"testing"

	"hdw/objstore"
	"hdw/objstore/storetest"
)

func TestLocalConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) objstore.Store { return storetest.Local(t, t.TempDir()) })
}
