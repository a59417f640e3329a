package keys

import (
	"bytes"
	"context"
)

// Pseudonym-key chains (issue 22, rotation). A pseudonym key that has been
// rotated is a re-pseudonymization, not a replacement: the pseudonym of a
// basis under versions 1..n is
//
//	p1 = HMAC(k1, domain, basis), p(i) = HMAC(ki, "rotation", p(i-1))
//
// so that new pseudonyms are a keyed function of the old ones (the rotation
// needs no identity) and a later ingest computes the same pseudonym as the
// rotation did. A provider hands out every version of such a key at once, as
// one [Secret] made by [Chain]; package pseudo reads it back with [Links].
// A key with one version is its 32 bytes, as before any rotation.

const chainMagic = "hdw-pseudo-chain/v1\x00"

// Chained reports whether name is a pseudonym key whose versions form a
// chain: the warehouse, professional, opposition, workspace and cohort
// keys. The audit, policy-seal and checkpoint keys are replaced by a
// rotation, never chained.
func Chained(name string) bool {
	switch name {
	case Audit, PolicySeal, CheckpointKey:
		return false
	}
	return !IsStoreKey(name)
}

// Chain returns the secret of a chained pseudonym key from its versions,
// oldest first: the version itself when there is one. It copies the bytes.
func Chain(versions []Secret) Secret {
	if len(versions) == 1 {
		return NewSecret(versions[0].Bytes())
	}
	b := []byte(chainMagic)
	for _, v := range versions {
		b = append(b, v.Bytes()...)
	}
	s := Secret{b: b}
	return s
}

// Links returns the versions held by s, oldest first (one for a key never
// rotated). The slices alias s: do not keep them past s.Wipe.
func Links(s Secret) [][]byte {
	rest, ok := bytes.CutPrefix(s.b, []byte(chainMagic))
	if !ok || len(rest) == 0 || len(rest)%32 != 0 {
		return [][]byte{s.b}
	}
	var out [][]byte
	for len(rest) > 0 {
		out = append(out, rest[:32:32])
		rest = rest[32:]
	}
	return out
}

// Versions is what both providers tell about the versions of a chained
// pseudonym key and how they retire the old ones.
type Versions interface {
	// KeyVersions returns the latest version of name and the lowest one
	// not retired (1 when none is).
	KeyVersions(ctx context.Context, name string) (latest, min int, err error)
	// RetireVersions retires the versions of name below minVersion: for a
	// store key they no longer decrypt; for a chained pseudonym key they
	// are no longer a version anyone computes pseudonyms at (the chain
	// still runs through them: see [Chain]). Admin only (OpRotate).
	RetireVersions(ctx context.Context, name string, minVersion int) error
}
