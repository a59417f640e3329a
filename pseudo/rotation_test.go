package pseudo_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"strings"
	"testing"

	"hdw/keys"
	"hdw/pseudo"
)

// TestSEC_PSE_1_RotationChain shows the re-pseudonymization of issue 22:
// a rotated key computes, from the identity basis, exactly the pseudonym
// that the rotation computes from the old pseudonym (new = HMAC(new key,
// "rotation" || 0 || old)), for every domain that feeds the pseudonym
// column, so a later ingest joins the rotated rows.
func TestSEC_PSE_1_RotationChain(t *testing.T) {
	k1, k2, k3 := testKey(), keys.RandomSecret(), keys.RandomSecret()
	v1, _ := pseudo.New(k1)
	v2, err := pseudo.New(keys.Chain([]keys.Secret{k1, k2}))
	if err != nil {
		t.Fatal(err)
	}
	v3, _ := pseudo.New(keys.Chain([]keys.Secret{k1, k2, k3}))
	if v1.Versions() != 1 || v2.Versions() != 2 || v3.Versions() != 3 {
		t.Fatalf("versions %d %d %d", v1.Versions(), v2.Versions(), v3.Versions())
	}
	basis := "NIR:1570399999999XX"
	old := v1.Patient(basis)
	mac := hmac.New(sha256.New, k2.Bytes())
	mac.Write([]byte("rotation\x00" + old))
	want := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(mac.Sum(nil)[:20]))
	if got := v2.Rotate(old); got != want {
		t.Fatalf("Rotate = %s, want HMAC(new key, rotation, old) = %s", got, want)
	}
	if v2.Patient(basis) != want {
		t.Fatal("an ingest after the rotation must compute the rotated pseudonym from the basis")
	}
	if v3.Patient(basis) != v3.Rotate(v2.Patient(basis)) {
		t.Fatal("a second rotation chains on the first")
	}
	imp := v1.Import("Hopital Nord", "abc")
	if v2.Import("Hopital Nord", "abc") != v2.Rotate(imp) {
		t.Fatal("imported pseudonyms rotate like the others")
	}
	if v2.Patient(basis) == old || v2.Rotate(old) == v1.Rotate(old) {
		t.Fatal("the new pseudonym must depend on the new key")
	}
	if keys.Chain([]keys.Secret{k1}).Len() != 32 {
		t.Fatal("a key never rotated stays its 32 bytes")
	}
	// Sum (source and content ids, UIDs) stays on the first version: the
	// ids already stored still match after a rotation.
	if v2.UID("1.2.3") != v1.UID("1.2.3") || string(v3.Sum("source", "x")) != string(v1.Sum("source", "x")) {
		t.Fatal("keyed ids must not change with a rotation")
	}
	if c := v3.Clone(); c.Patient(basis) != v3.Patient(basis) {
		t.Fatal("clone keeps the chain")
	}
}
