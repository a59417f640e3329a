package objstore_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hdw/objstore"
)

// TestOpenFileLikeOS: objstore.OpenFile and CreateTemp, which open files
// without offering them to Go's poller (issues 19 and 24), behave as
// os.OpenFile and os.CreateTemp for what the stores rely on: a missing
// file is fs.ErrNotExist, O_EXCL refuses an existing one with
// fs.ErrExist, modes are the ones asked (0600 for temporary files), and
// the files read and write.
func TestOpenFileLikeOS(t *testing.T) {
	dir := t.TempDir()
	if _, err := objstore.OpenFile(filepath.Join(dir, "missing"), os.O_RDONLY, 0); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v, want fs.ErrNotExist", err)
	}
	p := filepath.Join(dir, "a")
	f, err := objstore.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("bytes"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := objstore.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("O_EXCL on an existing file: %v, want fs.ErrExist", err)
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "bytes" {
		t.Fatalf("read back %q, %v", b, err)
	}
	tmp, err := objstore.CreateTemp(dir, ".tmp-")
	if err != nil {
		t.Fatal(err)
	}
	defer tmp.Close()
	if !strings.HasPrefix(filepath.Base(tmp.Name()), ".tmp-") || filepath.Dir(tmp.Name()) != dir {
		t.Fatalf("temporary file %s, want .tmp-* in %s", tmp.Name(), dir)
	}
	for _, c := range []struct {
		name string
		want fs.FileMode
	}{{p, 0o640}, {tmp.Name(), 0o600}} {
		st, err := os.Stat(c.name)
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm() &^ 0o022; got != c.want&^0o022 { // the umask may clear group/other write
			t.Errorf("%s: mode %v, want %v", filepath.Base(c.name), st.Mode().Perm(), c.want)
		}
	}
	other, err := objstore.CreateTemp(dir, ".tmp-")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if other.Name() == tmp.Name() {
		t.Fatal("two temporary files share a name")
	}
}
