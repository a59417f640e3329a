//go:build unix

package objstore

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// OpenFile opens a file as os.OpenFile does, without offering it to Go's
// network poller. os.OpenFile offers every descriptor it opens to epoll,
// which refuses regular files (EPERM), and sets then clears O_NONBLOCK
// around the attempt: four fcntl and one epoll_ctl per file, about as many
// system calls as reading and writing a small DICOM slice (issues 19 and
// 24). Files opened here are regular files read and written with blocking
// calls, as os.OpenFile leaves them after the failed attempt; deadlines are
// not supported on them (nor on os.OpenFile's regular files).
func OpenFile(name string, flag int, perm os.FileMode) (*os.File, error) {
	for {
		fd, err := syscall.Open(name, flag|syscall.O_CLOEXEC, uint32(perm.Perm()))
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return nil, &os.PathError{Op: "open", Path: name, Err: err}
		}
		return os.NewFile(uintptr(fd), name), nil
	}
}

// CreateTemp creates a new file in dir named prefix and random digits,
// opened for reading and writing with mode 0600, as os.CreateTemp(dir,
// prefix+"*") does, through [OpenFile].
func CreateTemp(dir, prefix string) (*os.File, error) {
	for try := 0; ; try++ {
		name := filepath.Join(dir, prefix+strconv.FormatUint(uint64(rand.Uint32()), 10))
		f, err := OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) && try < 10000 {
			continue
		}
		return f, err
	}
}
