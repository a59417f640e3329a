package audit

import (
	"os"
	"path/filepath"
)

// makeReadOnly makes a closed local segment read-only (write once): 0400,
// as every write-once file hdw writes (issue 23).
func makeReadOnly(root, key string) {
	os.Chmod(filepath.Join(root, filepath.FromSlash(key)), 0o400)
}
