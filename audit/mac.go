package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"hdw/keys"
)

// MAC seals segments, heads and retention checkpoints. The local
// implementation is [HMAC]; a Vault transit hmac endpoint can back it
// without releasing the audit key. Sum returns an error when the key
// service cannot be reached; the caller must then stop (SRS-065).
type MAC interface {
	Sum(ctx context.Context, data []byte) ([]byte, error)
}

type hmacMAC struct{ key keys.Secret }

// HMAC returns the local HMAC-SHA256 [MAC] under key (the audit key,
// [keys.Audit]). It keeps its own copy of the key, so the caller may wipe
// key after the call.
func HMAC(key keys.Secret) MAC { return hmacMAC{key: keys.NewSecret(key.Bytes())} }

func (h hmacMAC) Sum(_ context.Context, data []byte) ([]byte, error) {
	if h.key.Len() == 0 {
		return nil, errors.New("audit: empty audit key")
	}
	m := hmac.New(sha256.New, h.key.Bytes())
	m.Write(data)
	return m.Sum(nil), nil
}

// seal returns the seal line of body, whose last line is last.
func seal(ctx context.Context, mac MAC, body, last []byte) (Seal, error) {
	sum, err := mac.Sum(ctx, body)
	if err != nil {
		return Seal{}, fmt.Errorf("audit: seal: %w", err)
	}
	return Seal{Prev: digest(last), MAC: hex.EncodeToString(sum)}, nil
}

// checkMAC reports whether s seals body under mac.
func checkMAC(ctx context.Context, mac MAC, body []byte, s Seal) (bool, error) {
	want, err := hex.DecodeString(s.MAC)
	if err != nil {
		return false, nil
	}
	sum, err := mac.Sum(ctx, body)
	if err != nil {
		return false, fmt.Errorf("audit: compute seal: %w", err)
	}
	return hmac.Equal(sum, want), nil
}
