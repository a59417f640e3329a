package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"iter"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Local is a [Store] in a local folder. Objects are files; Create writes to a
// temporary file in the same folder and renames it on Close.
//
// # Durability
//
// By default an object is durable when Close (or PutIfAbsent) returns nil:
// the file is fsynced before it is renamed (or linked) into place, then its
// folder is fsynced, and so is every folder that got a new entry for it (the
// parents of the folders created on the way).
//
// Keys matched by a [Local.Defer] predicate are written in deferred mode:
// Close renames the file into place without any fsync and records the file
// and its folders; [Local.Sync] makes everything recorded since the last
// Sync durable, with one syncfs(2) of the store's file system on Linux, else
// (or when a folder holding one is on another file system) with an fsync of
// each file and folder. A deferred object is visible at once, but after a
// power loss or a kernel crash it may be missing, empty or torn until a Sync
// has returned nil. The caller makes that safe: package warehouse defers
// only the data objects of a running batch and calls Sync before the
// batch's commit record (see the warehouse package documentation). A
// process crash (kill -9) loses nothing either way: the kernel keeps what
// was written.
type Local struct {
	root string

	// syncFile flushes one open file or folder and syncFS the file system
	// of an open file (nil or errors.ErrUnsupported: Sync goes file by
	// file); tests replace them.
	syncFile func(*os.File) error
	syncFS   func(*os.File) error

	mu      sync.Mutex
	defers  []*deferral
	rootFD  *os.File            // the root, opened by the first Defer (syncfs, errors since then)
	rootDev uint64              // device of rootFD
	files   map[string]struct{} // deferred files not yet fsynced (absolute paths)
	dirs    map[string]uint64   // folders with entries not yet fsynced -> generation
	gen     uint64
	syncErr error // first failed fsync of Sync: sticky
}

type deferral struct{ match func(key string) bool }

// NewLocal returns a Local store rooted at dir (created if missing).
func NewLocal(dir string) (*Local, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	l := &Local{root: abs, syncFile: (*os.File).Sync, syncFS: syncFS, files: map[string]struct{}{}, dirs: map[string]uint64{}}
	changed, err := l.mkdirs(abs)
	if err != nil {
		return nil, fmt.Errorf("create store folder: %w", err)
	}
	for _, d := range changed {
		if err := l.syncPath(d); err != nil {
			return nil, fmt.Errorf("create store folder: %w", err)
		}
	}
	clear(l.dirs)
	return l, nil
}

// Root returns the absolute folder of the store.
func (l *Local) Root() string { return l.root }

func (l *Local) String() string { return l.root }

// CleanKey checks that key is a relative slash path inside the root.
func CleanKey(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, "\\") {
		return "", ErrBadKey
	}
	c := path.Clean(key)
	if c == "." || c == ".." || strings.HasPrefix(c, "../") {
		return "", ErrBadKey
	}
	return c, nil
}

func (l *Local) path(key string) (string, error) {
	c, err := CleanKey(key)
	if err != nil {
		return "", err
	}
	return filepath.Join(l.root, filepath.FromSlash(c)), nil
}

type localWriter struct {
	l        *Local
	f        *os.File
	dst      string
	deferred bool
	done     bool
}

func (w *localWriter) Write(p []byte) (int, error) { return w.f.Write(p) }

func (w *localWriter) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	if !w.deferred {
		if err := w.l.syncFile(w.f); err != nil {
			w.f.Close()
			os.Remove(w.f.Name())
			return err
		}
	} else {
		startWriteback(w.f)
	}
	if err := w.f.Close(); err != nil {
		os.Remove(w.f.Name())
		return err
	}
	if err := os.Rename(w.f.Name(), w.dst); err != nil {
		os.Remove(w.f.Name())
		return err
	}
	return w.l.published(w.dst, w.deferred)
}

func (w *localWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	return os.Remove(w.f.Name())
}

// prepare resolves key, tells whether it is written in deferred mode and
// creates its folder.
func (l *Local) prepare(key string) (p string, deferred bool, err error) {
	c, err := CleanKey(key)
	if err != nil {
		return "", false, err
	}
	p = filepath.Join(l.root, filepath.FromSlash(c))
	if _, err := l.mkdirs(filepath.Dir(p)); err != nil {
		return "", false, err
	}
	return p, l.deferred(c), nil
}

// Create implements [Store]. The object is durable when Close returns nil,
// unless its key is deferred ([Local.Defer]): then it is durable once
// [Local.Sync] returns nil.
func (l *Local) Create(_ context.Context, key string) (io.WriteCloser, error) {
	p, deferred, err := l.prepare(key)
	if err != nil {
		return nil, err
	}
	f, err := CreateTemp(filepath.Dir(p), ".tmp-")
	if err != nil {
		return nil, err
	}
	return &localWriter{l: l, f: f, dst: p, deferred: deferred}, nil
}

// PutIfAbsent implements [Store] with a hard link, which fails if the target
// exists. Durability is as for [Local.Create].
func (l *Local) PutIfAbsent(ctx context.Context, key string, r io.Reader) error {
	p, deferred, err := l.prepare(key)
	if err != nil {
		return err
	}
	f, err := CreateTemp(filepath.Dir(p), ".tmp-")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	// Write once: 0400 (issue 23; other objects are 0600, folders 0700).
	if err := f.Chmod(0o400); err != nil {
		f.Close()
		return err
	}
	if !deferred {
		if err := l.syncFile(f); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Link(f.Name(), p); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s: %w", key, ErrExist)
		}
		return err
	}
	return l.published(p, deferred)
}

// Open implements [Store].
func (l *Local) Open(_ context.Context, key string) (io.ReadCloser, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	f, err := OpenFile(p, os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%s: %w", key, ErrNotExist)
	}
	return f, err
}

// Stat implements [Store].
func (l *Local) Stat(_ context.Context, key string) (Info, error) {
	p, err := l.path(key)
	if err != nil {
		return Info{}, err
	}
	fi, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return Info{}, fmt.Errorf("%s: %w", key, ErrNotExist)
	}
	if err != nil {
		return Info{}, err
	}
	return localInfo(key, fi), nil
}

func localInfo(key string, fi fs.FileInfo) Info {
	return Info{Key: key, Size: fi.Size(), ModTime: fi.ModTime(),
		ETag: fmt.Sprintf("%x-%x", fi.Size(), fi.ModTime().UnixNano())}
}

// List implements [Store]. Hidden temporary files are skipped.
func (l *Local) List(ctx context.Context, prefix string) iter.Seq2[Info, error] {
	return func(yield func(Info, error) bool) {
		var infos []Info
		// Walk only the deepest folder the prefix names.
		start := l.root
		if i := strings.LastIndex(prefix, "/"); i > 0 {
			if dir, err := CleanKey(prefix[:i]); err == nil {
				start = filepath.Join(l.root, filepath.FromSlash(dir))
			}
		}
		err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			if strings.HasPrefix(d.Name(), ".tmp-") {
				return nil
			}
			rel, _ := filepath.Rel(l.root, p)
			key := filepath.ToSlash(rel)
			if !strings.HasPrefix(key, prefix) {
				return nil
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			infos = append(infos, localInfo(key, fi))
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			yield(Info{}, err)
			return
		}
		sort.Slice(infos, func(i, j int) bool { return infos[i].Key < infos[j].Key })
		for _, in := range infos {
			if !yield(in, nil) {
				return
			}
		}
	}
}

// Delete implements [Store].
func (l *Local) Delete(_ context.Context, key string) error {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	l.mu.Lock()
	delete(l.files, p)
	l.mu.Unlock()
	return nil
}
