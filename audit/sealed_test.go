package audit_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"hdw/audit"
	"hdw/keys"
)

// auditKeys is a test audit store key obeying keys.Allowed: every profile
// wraps, only admin and dpo unwrap (SRS-091).
type auditKeys struct {
	profile string
	kek     []byte
}

func (a auditKeys) gcm() cipher.AEAD {
	b, _ := aes.NewCipher(a.kek)
	g, _ := cipher.NewGCM(b)
	return g
}

func (a auditKeys) NewDataKeys(_ context.Context, store string, n int) ([]keys.DataKey, error) {
	if !keys.Allowed(a.profile, keys.OpWrap, store) {
		return nil, keys.ErrForbidden
	}
	var out []keys.DataKey
	for range n {
		k := keys.RandomSecret()
		nonce := make([]byte, 12)
		out = append(out, keys.DataKey{Key: k, Wrapped: a.gcm().Seal(nonce, nonce, k.Bytes(), nil)})
	}
	return out, nil
}

func (a auditKeys) Unwrap(_ context.Context, store string, w [][]byte) ([]keys.Secret, error) {
	if !keys.Allowed(a.profile, keys.OpUnwrap, store) {
		return nil, keys.ErrForbidden
	}
	var out []keys.Secret
	for _, b := range w {
		pt, err := a.gcm().Open(nil, b[:12], b[12:], nil)
		if err != nil {
			return nil, err
		}
		out = append(out, keys.NewSecret(pt))
	}
	return out, nil
}

// TestSRS_091_AuditPayloadsEncryptedAtRest: a session opened with a Sealer
// writes SealedVersion segments: no event field is readable in the stored
// bytes; Verify needs no decryption key (the chain and the MAC cover the
// ciphertext) and still knows the session closed; VerifyOpen as dpo or
// admin gives the events back; a researcher, ingest or curator cannot
// unwrap the payload key; an edited ciphertext breaks the chain.
func TestSRS_091_AuditPayloadsEncryptedAtRest(t *testing.T) {
	ctx := context.Background()
	st, root := newStore(t)
	kek := bytes.Repeat([]byte{9}, 32)
	l, err := audit.Open(ctx, st, testMAC, audit.Options{Profile: keys.ProfileIngest, Operator: "LH-SVC-0001",
		Command: "ingest", Sealer: auditKeys{keys.ProfileIngest, kek}})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append(ctx, audit.Event{Action: "batch.commit", Target: map[string]string{"batch": "B-7f3a"}, Reason: "quarterly-upload"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var stored []byte
	filepath.Walk(filepath.Join(root, "audit", "segments"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			b, _ := os.ReadFile(p)
			stored = append(stored, b...)
		}
		return nil
	})
	for _, clear := range []string{"batch.commit", "B-7f3a", "quarterly-upload", "LH-SVC-0001", "ingest"} {
		if bytes.Contains(stored, []byte(clear)) {
			t.Errorf("SRS-091: %q in clear in a stored segment", clear)
		}
	}
	rep, segs, err := audit.Verify(ctx, st, testMAC)
	if err != nil || !rep.OK || rep.Events != 3 || len(segs) != 1 || !segs[0].Closed {
		t.Fatalf("verify without the payload key: %+v %v", rep, err)
	}
	for _, p := range []string{keys.ProfileDPO, keys.ProfileAdmin} {
		rep, segs, err := audit.VerifyOpen(ctx, st, testMAC, auditKeys{p, kek})
		if err != nil || !rep.OK || segs[0].Events[1].Action != "batch.commit" || segs[0].Events[1].Target["batch"] != "B-7f3a" ||
			segs[0].Events[1].Operator != "LH-SVC-0001" {
			t.Fatalf("%s opens the trail: %+v %v", p, rep, err)
		}
	}
	for _, p := range []string{keys.ProfileIngest, keys.ProfileCurator, keys.ProfileApprover, keys.Researcher("a")} {
		if _, _, err := audit.VerifyOpen(ctx, st, testMAC, auditKeys{p, kek}); !errors.Is(err, keys.ErrForbidden) {
			t.Errorf("%s reads the audit payloads: %v", p, err)
		}
	}
	// An edited ciphertext: the next line's hash (or the seal) breaks.
	seg := segs[0].ID
	part := filepath.Join(root, "audit", "segments", seg, "000001.jsonl")
	b, _ := os.ReadFile(part)
	i := strings.Index(string(b), `"sealed":"`) + len(`"sealed":"`)
	b[i+5] ^= 1
	os.Chmod(part, 0o600)
	os.WriteFile(part, b, 0o600)
	rep, _, _ = audit.Verify(ctx, st, testMAC)
	if rep.OK {
		t.Fatal("an edited sealed payload verifies")
	}
	_ = time.Now
}
