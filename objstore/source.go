package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Source is a read-mostly [Local] over an untrusted upload folder (issue
// 23): objects are opened through an [os.Root], so that no path and no
// symlink leads outside the folder, and only regular files are opened: a
// symlink as the last component (O_NOFOLLOW), a FIFO, a device or a socket
// is refused with [ErrNotRegular] before it is opened for reading (a FIFO
// would block the run, a device could be read forever). Listing, deletion
// (--purge-source) and the rest are those of Local.
type Source struct {
	*Local
	root *os.Root
}

// NewSource opens dir (which must exist) as an untrusted upload folder.
func NewSource(dir string) (*Source, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(abs)
	if err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("source %s is not a folder", dir)
	}
	r, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("open source folder: %w", err)
	}
	l := &Local{root: abs, syncFile: (*os.File).Sync, syncFS: syncFS, files: map[string]struct{}{}, dirs: map[string]uint64{}}
	return &Source{Local: l, root: r}, nil
}

// Close releases the folder.
func (s *Source) Close() error { return s.root.Close() }

// Open implements [Store]: a regular file inside the folder, or an error
// wrapping ErrNotRegular (symlink, special file, escape) or ErrNotExist.
func (s *Source) Open(_ context.Context, key string) (io.ReadCloser, error) {
	c, err := CleanKey(key)
	if err != nil {
		return nil, err
	}
	name := filepath.FromSlash(c)
	fi, err := s.root.Lstat(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", key, ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, ErrNotRegular) // escapes the root, or a component is not a folder
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w", key, ErrNotRegular)
	}
	// O_NONBLOCK: a file replaced by a FIFO between the Lstat and here does
	// not block the open; the Stat below refuses it.
	f, err := s.root.OpenFile(name, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", key, ErrNotExist)
		}
		return nil, fmt.Errorf("%s: %w", key, ErrNotRegular)
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s: %w", key, ErrNotRegular)
	}
	return f, nil
}

// Stat implements [Store] without following a final symlink.
func (s *Source) Stat(_ context.Context, key string) (Info, error) {
	c, err := CleanKey(key)
	if err != nil {
		return Info{}, err
	}
	fi, err := s.root.Lstat(filepath.FromSlash(c))
	if errors.Is(err, fs.ErrNotExist) {
		return Info{}, fmt.Errorf("%s: %w", key, ErrNotExist)
	}
	if err != nil {
		return Info{}, fmt.Errorf("%s: %w", key, ErrNotRegular)
	}
	return localInfo(key, fi), nil
}

// Delete implements [Store] (--purge-source): it removes the file, then
// every folder the removal left empty up to the root (folders of an upload
// are often named after patients: SEC-ALI-1 leaves none behind).
func (s *Source) Delete(ctx context.Context, key string) error {
	if err := s.Local.Delete(ctx, key); err != nil {
		return err
	}
	c, _ := CleanKey(key)
	for d := filepath.Dir(filepath.FromSlash(c)); d != "." && d != string(filepath.Separator); d = filepath.Dir(d) {
		if err := s.root.Remove(d); err != nil {
			break // not empty (or gone): stop climbing
		}
	}
	return nil
}
