package objstore_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"hdw/objstore"
	"hdw/objstore/storetest"
)

// TestSourceRefusesSymlinksAndSpecialFiles: an untrusted upload folder
// opens only regular files inside it; a symlink leaving it, a symlink at
// all, a FIFO (which would block) and a device are refused at once.
func TestSourceRefusesSymlinksAndSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	storetest.Hostile(t, dir, ".dcm", []byte("outside"))
	os.MkdirAll(filepath.Join(dir, "a"), 0o700)
	os.WriteFile(filepath.Join(dir, "a", "ok.dcm"), []byte("inside"), 0o600)
	os.Symlink("a/ok.dcm", filepath.Join(dir, "inner-link.dcm"))
	s, err := objstore.NewSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	rc, err := s.Open(ctx, "a/ok.dcm")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "inside" {
		t.Fatal(string(b))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, k := range []string{"escape.dcm", "inner-link.dcm", "fifo.dcm", "linkdir/secret.dcm", "a/../escape.dcm"} {
			if _, err := s.Open(ctx, k); !errors.Is(err, objstore.ErrNotRegular) {
				t.Errorf("%s: %v, want ErrNotRegular", k, err)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("opening a FIFO hung")
	}
	if _, err := s.Open(ctx, "../x"); !errors.Is(err, objstore.ErrBadKey) {
		t.Fatalf("escaping key: %v", err)
	}
	if _, err := os.Stat("/dev/null"); err == nil {
		// A device cannot be made here without privileges; a symlink to one is refused as a symlink.
		os.Symlink("/dev/zero", filepath.Join(dir, "zero.dcm"))
		if _, err := s.Open(ctx, "zero.dcm"); !errors.Is(err, objstore.ErrNotRegular) {
			t.Fatalf("device link: %v", err)
		}
	}
}

// TestSourcePurgeRemovesEmptiedFolders: deleting the last file of a folder
// (folders often named after patients) removes the folder, up to the root.
func TestSourcePurgeRemovesEmptiedFolders(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "DUPONT Jean", "2024"), 0o700)
	os.WriteFile(filepath.Join(dir, "DUPONT Jean", "2024", "a.dcm"), []byte("a"), 0o600)
	os.WriteFile(filepath.Join(dir, "DUPONT Jean", "b.dcm"), []byte("b"), 0o600)
	s, err := objstore.NewSource(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	s.Delete(ctx, "DUPONT Jean/2024/a.dcm")
	if _, err := os.Stat(filepath.Join(dir, "DUPONT Jean", "2024")); !os.IsNotExist(err) {
		t.Fatal("emptied folder left")
	}
	if _, err := os.Stat(filepath.Join(dir, "DUPONT Jean")); err != nil {
		t.Fatal("a folder still holding a file was removed")
	}
	s.Delete(ctx, "DUPONT Jean/b.dcm")
	if _, err := os.Stat(filepath.Join(dir, "DUPONT Jean")); !os.IsNotExist(err) {
		t.Fatal("emptied folder left")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatal("the root was removed")
	}
}

// TestLocalFileModes: every object hdw writes in a local store is 0600,
// write-once objects (commit records, audit segments) 0400, folders 0700,
// whatever the umask.
func TestLocalFileModes(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "wh")
	l := storetest.Local(t, dir)
	ctx := context.Background()
	w, _ := l.Create(ctx, "a/b/data.bin")
	w.Write([]byte("x"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.PutIfAbsent(ctx, "batches/x.json", strings.NewReader("{}")); err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]os.FileMode{"a/b/data.bin": 0o600, "batches/x.json": 0o400, "a": 0o700, "a/b": 0o700, "batches": 0o700, ".": 0o700} {
		fi, err := os.Stat(filepath.Join(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: %o, want %o", p, fi.Mode().Perm(), want)
		}
	}
}
