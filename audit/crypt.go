package audit

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"hdw/keys"
)

// Sealer creates the session's payload data key wrapped by the audit store
// key ([keys.AuditStore]); every profile may (keys.Provider implements it).
// SRS-091: event payloads are encrypted at rest with AES-256-GCM.
type Sealer interface {
	NewDataKeys(ctx context.Context, store string, n int) ([]keys.DataKey, error)
}

// Opener unwraps payload data keys for review; only admin and dpo may
// (keys.Allowed on [keys.AuditStore]). keys.Provider implements it.
type Opener interface {
	Unwrap(ctx context.Context, store string, wrapped [][]byte) ([]keys.Secret, error)
}

// ErrSealed is returned by [OpenEvent] when a payload does not decrypt
// (another key, or an edited ciphertext).
var ErrSealed = errors.New("audit: event payload does not decrypt")

func payloadAAD(segment string, seq int64) []byte {
	return []byte("hdw audit v3 " + segment + " " + strconv.FormatInt(seq, 10))
}

func gcmFor(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// sealEvent encrypts ev's JSON under dek, bound to its session and seq.
func sealEvent(dek []byte, segment string, seq int64, ev Event) ([]byte, error) {
	g, err := gcmFor(dek)
	if err != nil {
		return nil, err
	}
	pt, err := json.Marshal(eventLine{Seq: seq, Time: ev.Time.Format(TimeFormat), Event: ev})
	if err != nil {
		return nil, err
	}
	nonce := make([]byte, g.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	return g.Seal(nonce, nonce, pt, payloadAAD(segment, seq)), nil
}

// openEvent decrypts a sealed record.
func openEvent(dek []byte, segment string, r Record) (Event, error) {
	g, err := gcmFor(dek)
	if err != nil {
		return Event{}, err
	}
	if len(r.Sealed) < g.NonceSize() {
		return Event{}, ErrSealed
	}
	pt, err := g.Open(nil, r.Sealed[:g.NonceSize()], r.Sealed[g.NonceSize():], payloadAAD(segment, r.Seq))
	if err != nil {
		return Event{}, ErrSealed
	}
	var l eventLine
	if err := json.Unmarshal(pt, &l); err != nil || l.Seq != r.Seq {
		return Event{}, ErrSealed
	}
	ev := l.Event
	ev.Time = r.Event.Time
	return ev, nil
}

// deks caches the unwrapped payload keys of a verification, per wrapped key.
type dekCache struct {
	op Opener
	m  map[string]keys.Secret
}

func (c *dekCache) get(ctx context.Context, wrapped string) (keys.Secret, error) {
	if s, ok := c.m[wrapped]; ok {
		return s, nil
	}
	w, err := base64.StdEncoding.DecodeString(wrapped)
	if err != nil {
		return keys.Secret{}, ErrSealed
	}
	ks, err := c.op.Unwrap(ctx, keys.AuditStore, [][]byte{w})
	if err != nil {
		return keys.Secret{}, fmt.Errorf("audit: unwrap payload key: %w", err)
	}
	if c.m == nil {
		c.m = map[string]keys.Secret{}
	}
	c.m[wrapped] = ks[0]
	return ks[0], nil
}

func (c *dekCache) wipe() {
	for _, s := range c.m {
		s.Wipe()
	}
}
