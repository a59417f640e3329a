package audit

import (
	"os"
	"path/filepath"
)

// makeReadOnly makes a closed local segment read-only (write once).
func makeReadOnly(root, key string) {
	os.Chmod(filepath.Join(root, filepath.FromSlash(key)), 0o444)
}
