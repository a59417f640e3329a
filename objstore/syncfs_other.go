//go:build !linux

package objstore

import (
	"errors"
	"io/fs"
	"os"
)

// syncFS is not available here: Sync fsyncs file by file.
func syncFS(*os.File) error { return errors.ErrUnsupported }

func device(fs.FileInfo) (uint64, bool) { return 0, false }

// startWriteback does nothing here (see syncfs_linux.go).
func startWriteback(*os.File) {}
