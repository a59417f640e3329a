//go:build unix

package storetest

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// Hostile puts in dir what an untrusted upload may hold to escape or hang
// a reader, and returns the folder outside dir it points to, which holds
// secret<ext> with content: escape<ext>, a symlink to that file; linkdir,
// a symlink to that folder (linkdir/secret<ext> resolves outside);
// fifo<ext>, a FIFO (opening it would block). An error fails t.
func Hostile(t testing.TB, dir, ext string, content []byte) (outside string) {
	t.Helper()
	outside = t.TempDir()
	secret := filepath.Join(outside, "secret"+ext)
	if err := os.WriteFile(secret, content, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		os.Symlink(secret, filepath.Join(dir, "escape"+ext)),
		os.Symlink(outside, filepath.Join(dir, "linkdir")),
		syscall.Mkfifo(filepath.Join(dir, "fifo"+ext), 0o600),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return outside
}
