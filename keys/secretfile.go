package keys

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxSecretFile bounds a secret file's size: passphrases, Vault tokens,
// AppRole ids and service-account JWTs are far smaller.
const MaxSecretFile = 64 << 10

// ReadSecretFile reads a secret held in a file (a keyring passphrase, a
// Vault token or AppRole id, a JWT), bounded by MaxSecretFile, without its
// trailing newline. An empty file, or one over the bound, is an error that
// names the file, never its content (SEC-LOG-4: key material is never
// logged).
func ReadSecretFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSecretFile+1))
	if err != nil {
		return nil, fmt.Errorf("read secret file %s: %w", path, err)
	}
	if len(b) > MaxSecretFile {
		return nil, fmt.Errorf("secret file %s is over %d KiB: is it the right file?", path, MaxSecretFile>>10)
	}
	b = bytes.TrimRight(b, "\r\n")
	if len(b) == 0 {
		return nil, errors.New("secret file " + path + " is empty")
	}
	return b, nil
}
