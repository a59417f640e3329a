//go:build !unix

package objstore

import "os"

// OpenFile is os.OpenFile (see openfile_unix.go).
func OpenFile(name string, flag int, perm os.FileMode) (*os.File, error) {
	return os.OpenFile(name, flag, perm)
}

// CreateTemp is os.CreateTemp(dir, prefix+"*").
func CreateTemp(dir, prefix string) (*os.File, error) {
	return os.CreateTemp(dir, prefix+"*")
}
