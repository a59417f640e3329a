package objstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

var _ Deferrer = (*Local)(nil)

// syncWorkers bounds the fsyncs that Sync runs at once: concurrent fsyncs
// share journal commits on ext4 and xfs.
const syncWorkers = 8

// Defer writes the objects whose (cleaned) key match reports true in
// deferred mode, from the next Create or PutIfAbsent until stop is called:
// Close publishes them without fsync and [Local.Sync] makes them durable.
// match is called concurrently, with l's lock held: it must be fast and must
// not call l. stop does not flush; call Sync for that.
func (l *Local) Defer(match func(key string) bool) (stop func()) {
	d := &deferral{match: match}
	l.mu.Lock()
	if l.rootFD == nil && l.syncFS != nil {
		if f, err := os.Open(l.root); err == nil {
			if fi, err := f.Stat(); err == nil {
				if dev, ok := device(fi); ok {
					l.rootFD, l.rootDev = f, dev
				}
			}
			if l.rootFD == nil {
				f.Close()
			}
		}
	}
	l.defers = append(l.defers, d)
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		l.defers = slices.DeleteFunc(l.defers, func(x *deferral) bool { return x == d })
		l.mu.Unlock()
	}
}

func (l *Local) deferred(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, d := range l.defers {
		if d.match(key) {
			return true
		}
	}
	return false
}

// Sync implements [Syncer]. If nothing was written in deferred mode since
// the last Sync it does nothing. Else, on Linux, it calls syncfs(2) on the
// store's file system, which writes back the deferred files and folders
// together with whatever else is dirty there (other processes' files
// included) and commits the journal once; elsewhere, or if syncfs is not
// available, it fsyncs each deferred file and each folder that got a new
// entry, a few at a time, skipping files deleted in the meantime.
//
// A failed flush is sticky: the kernel may have dropped the pages it could
// not write, so a later flush could succeed without the data being on disk.
// Every later Sync of l fails too, with the same *[SyncError]; reopen the
// store (restart the process) to trust deferred writes again. A cancelled
// ctx is not sticky: the writes stay recorded for the next Sync.
func (l *Local) Sync(ctx context.Context) error {
	l.mu.Lock()
	if l.syncErr != nil {
		err := l.syncErr
		l.mu.Unlock()
		return err
	}
	if len(l.files) == 0 && len(l.dirs) == 0 {
		l.mu.Unlock()
		return nil
	}
	files := l.files
	l.files = map[string]struct{}{}
	dirs := maps.Clone(l.dirs)
	root, dev, syncFS := l.rootFD, l.rootDev, l.syncFS
	l.mu.Unlock()

	err := ctx.Err()
	perFile := true
	if err == nil && root != nil && syncFS != nil && l.oneFS(dev, files, dirs) {
		if ferr := syncFS(root); !errors.Is(ferr, errors.ErrUnsupported) {
			perFile = false
			if ferr != nil {
				err = &SyncError{Key: ".", Err: unwrapPath(ferr)}
			}
		}
	}
	if err == nil && perFile {
		paths := make([]string, 0, len(files)+len(dirs))
		for p := range files {
			paths = append(paths, p)
		}
		for d := range dirs {
			paths = append(paths, d)
		}
		err = l.syncAll(ctx, paths)
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	if err != nil {
		if !errors.As(err, new(*SyncError)) {
			for p := range files {
				l.files[p] = struct{}{}
			}
			return err
		}
		if l.syncErr == nil {
			l.syncErr = err
		}
		return l.syncErr
	}
	for d, g := range dirs {
		if l.dirs[d] == g {
			delete(l.dirs, d)
		}
	}
	return nil
}

// oneFS reports whether every folder holding a deferred write is on the
// root's file system (a folder under the root may be a mount point), so
// that syncfs of the root covers them all.
func (l *Local) oneFS(dev uint64, files map[string]struct{}, dirs map[string]uint64) bool {
	seen := make(map[string]bool, len(dirs))
	check := func(d string) bool {
		if seen[d] {
			return true
		}
		seen[d] = true
		fi, err := os.Stat(d)
		if errors.Is(err, fs.ErrNotExist) {
			return true
		}
		if err != nil {
			return false
		}
		d2, ok := device(fi)
		return ok && d2 == dev
	}
	for d := range dirs {
		if !check(d) {
			return false
		}
	}
	for f := range files {
		if !check(filepath.Dir(f)) {
			return false
		}
	}
	return true
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var se *os.SyscallError
	if errors.As(err, &se) {
		return se.Err
	}
	return err
}

// SyncError reports a failed flush of [Local.Sync]. Key is the object or
// folder relative to the store root ("." for the whole file system).
type SyncError struct {
	Key string
	Err error
}

func (e *SyncError) Error() string { return fmt.Sprintf("objstore: flush %s: %v", e.Key, e.Err) }
func (e *SyncError) Unwrap() error { return e.Err }

// syncAll fsyncs paths with up to syncWorkers goroutines; it returns the
// first error (a *SyncError, or ctx's error).
func (l *Local) syncAll(ctx context.Context, paths []string) error {
	if len(paths) == 0 {
		return nil
	}
	next := make(chan string)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	fail := func(err error) { once.Do(func() { first = err }) }
	for range min(syncWorkers, len(paths)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range next {
				if err := l.syncPath(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
					rel, _ := filepath.Rel(l.root, p)
					fail(&SyncError{Key: filepath.ToSlash(rel), Err: unwrapPath(err)})
				}
			}
		}()
	}
feed:
	for _, p := range paths {
		select {
		case next <- p:
		case <-ctx.Done():
			fail(ctx.Err())
			break feed
		}
	}
	close(next)
	wg.Wait()
	return first
}

// syncPath fsyncs a file or folder by name.
func (l *Local) syncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	err = l.syncFile(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// mkdirs creates dir and its missing parents. Before creating a folder it
// records its parent as having an entry not yet durable, so that a
// concurrent writer finding the folder already there still flushes the
// parent (see published). It returns those parents.
func (l *Local) mkdirs(dir string) ([]string, error) {
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return nil, nil
	}
	var changed []string
	for d := dir; ; {
		if _, err := os.Stat(d); err == nil {
			break
		}
		parent := filepath.Dir(d)
		changed = append(changed, parent)
		if parent == d {
			break
		}
		d = parent
	}
	l.mu.Lock()
	for _, d := range changed {
		l.gen++
		l.dirs[d] = l.gen
	}
	l.mu.Unlock()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	return changed, nil
}

// published is called once an object's file is in place at p. Deferred: it
// records the file and its folder for Sync. Otherwise it fsyncs the folder
// and every ancestor folder up to the root holding an entry not yet durable
// (new folders, deferred objects' folders).
func (l *Local) published(p string, deferred bool) error {
	dir := filepath.Dir(p)
	l.mu.Lock()
	if deferred {
		l.files[p] = struct{}{}
		l.gen++
		l.dirs[dir] = l.gen
		l.mu.Unlock()
		return nil
	}
	type pending struct {
		dir string
		gen uint64
	}
	todo := []pending{{dir, l.dirs[dir]}}
	for d := dir; d != l.root; {
		parent := filepath.Dir(d)
		if parent == d || !withinRoot(l.root, parent) {
			break
		}
		if g, ok := l.dirs[parent]; ok {
			todo = append(todo, pending{parent, g})
		}
		d = parent
	}
	l.mu.Unlock()
	for _, t := range todo {
		if err := l.syncPath(t.dir); err != nil {
			return err
		}
	}
	l.mu.Lock()
	for _, t := range todo {
		if g, ok := l.dirs[t.dir]; ok && g == t.gen {
			delete(l.dirs, t.dir)
		}
	}
	l.mu.Unlock()
	return nil
}

func withinRoot(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !filepath.IsAbs(rel) && (len(rel) < 3 || rel[:3] != ".."+string(filepath.Separator))
}
