package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// flushLog records the fsyncs and syncfs calls of a Local.
type flushLog struct {
	mu     sync.Mutex
	paths  []string // keys relative to the root; temporaries as ".tmp"; root as "."
	syncfs int
	fail   error // returned by syncfs and fsync when set
}

func newLogged(t *testing.T) (*Local, *flushLog) {
	t.Helper()
	l, err := NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	lg := &flushLog{}
	l.syncFile = func(f *os.File) error {
		rel, _ := filepath.Rel(l.root, f.Name())
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(filepath.Base(rel), ".tmp-") {
			rel = ".tmp"
		}
		lg.mu.Lock()
		defer lg.mu.Unlock()
		lg.paths = append(lg.paths, rel)
		if lg.fail != nil {
			return lg.fail
		}
		return f.Sync()
	}
	l.syncFS = func(f *os.File) error {
		lg.mu.Lock()
		defer lg.mu.Unlock()
		lg.syncfs++
		if lg.fail != nil {
			return lg.fail
		}
		return syncFS(f)
	}
	return l, lg
}

func (lg *flushLog) take() (paths []string, syncfs int) {
	lg.mu.Lock()
	defer lg.mu.Unlock()
	paths, syncfs = lg.paths, lg.syncfs
	lg.paths, lg.syncfs = nil, 0
	sort.Strings(paths)
	return paths, syncfs
}

func put(t *testing.T, l *Local, key, v string) {
	t.Helper()
	w, err := l.Create(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, v)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func pending(l *Local) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for p := range l.files {
		rel, _ := filepath.Rel(l.root, p)
		out = append(out, filepath.ToSlash(rel))
	}
	sort.Strings(out)
	return out
}

func TestLocalDurableByDefault(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		write func(l *Local) error
		want  []string // fsyncs of the second write, after "a/b/first"
	}{
		{"create in a new folder chain", func(l *Local) error {
			w, _ := l.Create(ctx, "x/y/obj")
			io.WriteString(w, "v")
			return w.Close()
		}, []string{".", ".tmp", "x", "x/y"}},
		{"create in an existing folder", func(l *Local) error {
			w, _ := l.Create(ctx, "a/b/obj")
			io.WriteString(w, "v")
			return w.Close()
		}, []string{".tmp", "a/b"}},
		{"put-if-absent in a new folder", func(l *Local) error {
			return l.PutIfAbsent(ctx, "a/c/obj", strings.NewReader("v"))
		}, []string{".tmp", "a", "a/c"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, lg := newLogged(t)
			putFlushes(t, l, lg, "a/b/first", ".", ".tmp", "a", "a/b")
			if err := tt.write(l); err != nil {
				t.Fatal(err)
			}
			got, n := lg.take()
			if !slices.Equal(got, tt.want) || n != 0 {
				t.Fatalf("flushed %v (syncfs %d), want %v", got, n, tt.want)
			}
			if p := pending(l); len(p) != 0 {
				t.Fatalf("durable writes recorded as pending: %v", p)
			}
			syncFlushesNothing(t, l, lg, "with nothing deferred")
		})
	}
}

// putFlushes writes key and checks the folders its write flushed.
func putFlushes(t *testing.T, l *Local, lg *flushLog, key string, want ...string) {
	t.Helper()
	put(t, l, key, "v")
	if got, _ := lg.take(); !slices.Equal(got, want) {
		t.Fatalf("writing %s flushed %v, want %v", key, got, want)
	}
}

// syncFlushesNothing: a Sync when nothing is deferred flushes nothing.
func syncFlushesNothing(t *testing.T, l *Local, lg *flushLog, when string) {
	t.Helper()
	if err := l.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got, n := lg.take(); len(got) != 0 || n != 0 {
		t.Fatalf("Sync %s flushed %v (syncfs %d)", when, got, n)
	}
}

// eachSyncMode runs f on a logged store whose Sync is one syncfs, and on
// one that flushes file by file (perFile: no syncfs on this system).
func eachSyncMode(t *testing.T, f func(t *testing.T, l *Local, lg *flushLog, perFile bool)) {
	for _, perFile := range []bool{false, true} {
		t.Run(fmt.Sprintf("per-file=%v", perFile), func(t *testing.T) {
			l, lg := newLogged(t)
			if perFile {
				l.syncFS = nil
			}
			f(t, l, lg, perFile)
		})
	}
}

func TestLocalDeferred(t *testing.T) {
	ctx := context.Background()
	eachSyncMode(t, func(t *testing.T, l *Local, lg *flushLog, perFile bool) {
		stop := l.Defer(func(k string) bool { return path.Base(k) != "durable" })
		put(t, l, "d/p1/img", "1")
		put(t, l, "d/p2/img", "2")
		if err := l.PutIfAbsent(ctx, "d/p2/rec", strings.NewReader("3")); err != nil {
			t.Fatal(err)
		}
		put(t, l, "d/p2/gone", "4")
		if err := l.Delete(ctx, "d/p2/gone"); err != nil {
			t.Fatal(err)
		}
		if got, _ := lg.take(); len(got) != 0 {
			t.Fatalf("deferred writes flushed at once: %v", got)
		}
		if got := pending(l); !slices.Equal(got, []string{"d/p1/img", "d/p2/img", "d/p2/rec"}) {
			t.Fatalf("pending %v", got)
		}
		// A durable write next to them flushes its folder and every
		// ancestor with entries not yet durable, not the deferred files.
		putFlushes(t, l, lg, "d/p1/durable", ".", ".tmp", "d", "d/p1")
		if err := l.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		got, n := lg.take()
		if perFile {
			want := []string{"d/p1/img", "d/p2", "d/p2/img", "d/p2/rec"}
			if !slices.Equal(got, want) || n != 0 {
				t.Fatalf("Sync flushed %v (syncfs %d), want %v", got, n, want)
			}
		} else if len(got) != 0 || n != 1 {
			t.Fatalf("Sync flushed %v with %d syncfs, want one syncfs", got, n)
		}
		if p := pending(l); len(p) != 0 {
			t.Fatalf("pending after Sync: %v", p)
		}
		if dropped := TestDropUnsynced(l); len(dropped) != 0 {
			t.Fatalf("synced writes dropped: %v", dropped)
		}
		stop()
		put(t, l, "d/p3/img", "6")
		if got, _ := lg.take(); !slices.Contains(got, ".tmp") {
			t.Fatalf("write after stop not flushed: %v", got)
		}
		syncFlushesNothing(t, l, lg, "after stop")
	})
}

func TestLocalSyncFailureIsSticky(t *testing.T) {
	ctx := context.Background()
	eachSyncMode(t, func(t *testing.T, l *Local, lg *flushLog, _ bool) {
		l.Defer(func(string) bool { return true })
		put(t, l, "p/img", "1")
		lg.fail = syscall.EIO
		err := l.Sync(ctx)
		var se *SyncError
		if !errors.As(err, &se) || !errors.Is(err, syscall.EIO) {
			t.Fatalf("Sync = %v, want a *SyncError wrapping EIO", err)
		}
		lg.fail = nil
		if err := l.Sync(ctx); !errors.Is(err, syscall.EIO) {
			t.Fatalf("second Sync = %v, want the sticky error", err)
		}
		put(t, l, "p/img2", "2")
		if err := l.Sync(ctx); !errors.Is(err, syscall.EIO) {
			t.Fatalf("Sync after new writes = %v, want the sticky error", err)
		}
	})
}

func TestLocalSyncCancelledKeepsPending(t *testing.T) {
	l, _ := newLogged(t)
	l.Defer(func(string) bool { return true })
	put(t, l, "p/img", "1")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := l.Sync(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sync = %v, want context.Canceled", err)
	}
	if got := pending(l); !slices.Equal(got, []string{"p/img"}) {
		t.Fatalf("pending after a cancelled Sync: %v", got)
	}
	if err := l.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := pending(l); len(got) != 0 {
		t.Fatalf("pending %v", got)
	}
}

func TestLocalOneFS(t *testing.T) {
	l, _ := newLogged(t)
	l.Defer(func(string) bool { return true })
	put(t, l, "p/img", "1")
	l.mu.Lock()
	files, dirs, dev := l.files, l.dirs, l.rootDev
	l.mu.Unlock()
	if l.rootFD == nil {
		t.Skip("no syncfs on this platform")
	}
	if !l.oneFS(dev, files, dirs) {
		t.Fatal("folders under the root seen on another file system")
	}
	if l.oneFS(dev+1, files, dirs) {
		t.Fatal("a folder on another file system must make Sync go file by file")
	}
}

// TestLocalDeferredConcurrent mixes deferred and durable writers, deletes
// and Syncs (run with -race): after a final Sync nothing is pending and
// every surviving object is intact.
func TestLocalDeferredConcurrent(t *testing.T) {
	ctx := context.Background()
	l, _ := newLogged(t)
	stop := l.Defer(func(k string) bool { return strings.HasPrefix(k, "d/") })
	defer stop()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				prefix := "d"
				if i%3 == 0 {
					prefix = "s"
				}
				key := fmt.Sprintf("%s/p%d/o%d", prefix, i%7, g*100+i)
				w, err := l.Create(ctx, key)
				if err != nil {
					t.Error(err)
					return
				}
				io.WriteString(w, key)
				if err := w.Close(); err != nil {
					t.Error(err)
					return
				}
				if i%5 == 0 {
					l.Delete(ctx, key)
				}
				if i%10 == 0 {
					if err := l.Sync(ctx); err != nil {
						t.Error(err)
					}
				}
			}
		}()
	}
	wg.Wait()
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if p := pending(l); len(p) != 0 {
		t.Fatalf("pending %v", p)
	}
	n := 0
	for info, err := range l.List(ctx, "") {
		if err != nil {
			t.Fatal(err)
		}
		r, _ := l.Open(ctx, info.Key)
		b, _ := io.ReadAll(r)
		r.Close()
		if string(b) != info.Key {
			t.Fatalf("%s holds %q", info.Key, b)
		}
		n++
	}
	if n != 4*40 {
		t.Fatalf("%d objects, want %d", n, 4*40)
	}
}

func TestDropUnsyncedHook(t *testing.T) {
	ctx := context.Background()
	l, _ := newLogged(t)
	l.Defer(func(k string) bool { return strings.HasPrefix(k, "d/") })
	put(t, l, "d/a", "1")
	put(t, l, "d/b", "2")
	put(t, l, "s/c", "3")
	got := TestDropUnsynced(l)
	if !slices.Equal(got, []string{"d/a", "d/b"}) {
		t.Fatalf("dropped %v", got)
	}
	if _, err := l.Stat(ctx, "d/a"); !errors.Is(err, ErrNotExist) {
		t.Fatal("d/a survived")
	}
	if info, err := l.Stat(ctx, "d/b"); err != nil || info.Size != 0 {
		t.Fatalf("d/b: %v %v, want truncated", info, err)
	}
	if info, err := l.Stat(ctx, "s/c"); err != nil || info.Size != 1 {
		t.Fatalf("durable s/c: %v %v", info, err)
	}
}
