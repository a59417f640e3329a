package vault

import (
	"crypto/ed25519"
	"encoding/json"
	"testing"

	"hdw/keys"
)

// FuzzSEC_EXP_1_DecodeAnchor: the Vault policy anchor parser never panics
// and accepts only a 32-byte public key with a non-negative count, which
// encodes back to what it read.
func FuzzSEC_EXP_1_DecodeAnchor(f *testing.F) {
	good, _ := json.Marshal(keys.Anchor{Public: make([]byte, ed25519.PublicKeySize), Versions: 3})
	f.Add(string(good))
	f.Add(`{"public":"AAAA","versions":1}`)
	f.Add(`{"public":null,"versions":-1}`)
	f.Add(``)
	f.Fuzz(func(t *testing.T, raw string) {
		a, err := decodeAnchor(raw)
		if err != nil {
			return
		}
		if len(a.Public) != ed25519.PublicKeySize || a.Versions < 0 {
			t.Fatalf("accepted %+v", a)
		}
		b, _ := json.Marshal(a)
		if back, err := decodeAnchor(string(b)); err != nil || back.Versions != a.Versions || string(back.Public) != string(a.Public) {
			t.Fatalf("round trip: %+v %v", back, err)
		}
	})
}
