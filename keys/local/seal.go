package local

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"

	"golang.org/x/crypto/argon2"

	"hdw/keys"
)

// A profile's entry: its private key (and the policy anchor) sealed under
// its passphrase, and the AES-GCM helpers that seal it.

// newProfile creates a profile entry; anchor (the policy seal public key,
// nil for none) is sealed with its private key.
func newProfile(profile string, pass, anchor []byte) (*profileEntry, error) {
	priv, err := kem.GenerateKey()
	if err != nil {
		return nil, err
	}
	privBytes, err := priv.Bytes()
	if err != nil {
		return nil, err
	}
	defer clear(privBytes)
	e := &profileEntry{Time: kdfTime, Memory: kdfMemory, Threads: kdfThreads, Salt: make([]byte, 16)}
	rand.Read(e.Salt)
	e.Public = priv.PublicKey().Bytes()
	kek := argon2.IDKey(pass, e.Salt, e.Time, e.Memory, e.Threads, 32)
	defer clear(kek)
	if err := e.seal(kek, profile, privBytes, anchor); err != nil {
		return nil, err
	}
	u := make([]byte, 16)
	rand.Read(u)
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u)
	kind := "SVC"
	if strings.HasPrefix(profile, "researcher:") || profile == keys.ProfileDPO || profile == keys.ProfileApprover {
		kind = "USR"
	}
	e.Operator = "LH-" + kind + "-" + h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	return e, nil
}

// seal (re)seals the entry's private key, with the anchor when not nil.
func (e *profileEntry) seal(kek []byte, profile string, priv, anchor []byte) error {
	aad := infoP + "profile " + profile
	pt := priv
	if anchor != nil {
		aad += anchorAAD
		pt = append(append(make([]byte, 0, len(priv)+len(anchor)), priv...), anchor...)
		defer clear(pt)
	}
	ct, err := gcmSeal(kek, pt, []byte(aad))
	if err != nil {
		return err
	}
	e.SealedPrivate = ct
	return nil
}

// open opens the entry's private key and anchor (nil for an entry sealed
// before the anchor); any failure is keys.ErrBadCredentials.
func (e *profileEntry) open(kek []byte, profile string) (priv, anchor []byte, err error) {
	aad := infoP + "profile " + profile
	if pt, err := gcmOpen(kek, e.SealedPrivate, []byte(aad+anchorAAD)); err == nil {
		if len(pt) != 32+ed25519.PublicKeySize {
			clear(pt)
			return nil, nil, keys.ErrBadCredentials
		}
		return pt[:32], pt[32:], nil
	}
	pt, err := gcmOpen(kek, e.SealedPrivate, []byte(aad))
	if err != nil {
		return nil, nil, keys.ErrBadCredentials
	}
	return pt, nil, nil
}

// newGCM returns AES-GCM under key (32 bytes: AES-256).
func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

func gcmSeal(key, pt, aad []byte) ([]byte, error) {
	g, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, g.NonceSize())
	rand.Read(nonce)
	return g.Seal(nonce, nonce, pt, aad), nil
}

func gcmOpen(key, ct, aad []byte) ([]byte, error) {
	g, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(ct) < g.NonceSize() {
		return nil, errors.New("short")
	}
	return g.Open(nil, ct[:g.NonceSize()], ct[g.NonceSize():], aad)
}
