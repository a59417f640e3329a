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
)

// Local is a [Store] in a local folder. Objects are files; Create writes to a
// temporary file in the same folder and renames it on Close.
type Local struct{ root string }

// NewLocal returns a Local store rooted at dir (created if missing).
func NewLocal(dir string) (*Local, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("create store folder: %w", err)
	}
	return &Local{root: abs}, nil
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
	f    *os.File
	dst  string
	done bool
}

func (w *localWriter) Write(p []byte) (int, error) { return w.f.Write(p) }

func (w *localWriter) Close() error {
	if w.done {
		return nil
	}
	w.done = true
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		os.Remove(w.f.Name())
		return err
	}
	if err := w.f.Close(); err != nil {
		os.Remove(w.f.Name())
		return err
	}
	if err := os.Rename(w.f.Name(), w.dst); err != nil {
		os.Remove(w.f.Name())
		return err
	}
	return nil
}

func (w *localWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.f.Close()
	return os.Remove(w.f.Name())
}

// Create implements [Store].
func (l *Local) Create(_ context.Context, key string) (io.WriteCloser, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return nil, err
	}
	return &localWriter{f: f, dst: p}, nil
}

// PutIfAbsent implements [Store] with a hard link, which fails if the target exists.
func (l *Local) PutIfAbsent(ctx context.Context, key string, r io.Reader) error {
	p, err := l.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
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
	return nil
}

// Open implements [Store].
func (l *Local) Open(_ context.Context, key string) (io.ReadCloser, error) {
	p, err := l.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
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
	return nil
}
