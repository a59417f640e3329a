package keys_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hdw/keys"
)

// SEC-LOG-4: a secret file is read bounded, its trailing newline trimmed;
// an empty or oversized file is refused by name, its content never in the
// error.
func TestSEC_LOG_4_ReadSecretFileBounded(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	got, err := keys.ReadSecretFile(write("ok", []byte("s3cret pass\r\n")))
	if err != nil || string(got) != "s3cret pass" {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := keys.ReadSecretFile(write("empty", []byte("\n"))); err == nil {
		t.Error("an empty secret file was accepted")
	}
	big := bytes.Repeat([]byte("Z"), keys.MaxSecretFile+1)
	_, err = keys.ReadSecretFile(write("big", big))
	if err == nil || strings.Contains(err.Error(), "ZZZZ") {
		t.Errorf("oversized secret file: %v", err)
	}
	if _, err := keys.ReadSecretFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file was read")
	}
}
