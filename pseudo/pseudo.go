package pseudo

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"hash"
	"math/bits"
	"strings"

	"hdw/keys"
)

// Domains separate the uses of one key.
const (
	DomainPatient      = "patient"
	DomainProfessional = "professional"
	DomainImport       = "import"
	DomainUID          = "uid"
	DomainDateShift    = "dateshift"
	DomainWorkspace    = "workspace"
	DomainOpposition   = "opposition"
	DomainToken        = "token"
	// DomainRotation carries a pseudonym to the next key version ([Keyed.Rotate]).
	DomainRotation = "rotation"
)

// Len is the length of a pseudonym in characters.
const Len = 32

// ErrShortKey is returned for keys shorter than 256 bits.
var ErrShortKey = errors.New("pseudo: key must be at least 32 bytes")

// Keyed computes pseudonyms with one key. It is not safe for concurrent use;
// make one per goroutine with [Keyed.Clone].
type Keyed struct {
	key   keys.Secret
	h     hash.Hash   // the first version: Sum
	links []hash.Hash // every version, oldest first, when the key was rotated
	buf   []byte
	sum   []byte
	// uids holds the last UIDs mapped, input and output: the study and
	// series UIDs of a series recur in every one of its files.
	uids    [uidMemo]struct{ in, out string }
	uidNext int
}

// uidMemo is the number of UIDs [Keyed.UID] remembers.
const uidMemo = 8

// New returns a Keyed for key (at least 32 bytes; the bytes are copied).
// A rotated pseudonym key ([keys.Chain]) gives the pseudonyms of its latest
// version: the first version's pseudonym carried through each later one
// with [Keyed.Rotate]. [Keyed.Sum] (source and content ids, UIDs, date
// shifts) stays on the first version, so that the keyed ids already stored
// (committed sources, deduplicated contents) still match after a rotation:
// a rotation renews the person pseudonyms, not those ids.
func New(key keys.Secret) (*Keyed, error) {
	if key.Len() < 32 {
		return nil, ErrShortKey
	}
	k := keys.NewSecret(key.Bytes())
	out := &Keyed{key: k}
	if ls := keys.Links(k); len(ls) > 1 {
		for _, l := range ls {
			out.links = append(out.links, hmac.New(sha256.New, l))
		}
		out.h = out.links[0]
		return out, nil
	}
	out.h = hmac.New(sha256.New, k.Bytes())
	return out, nil
}

// Versions returns the number of key versions k chains (1 for a key never
// rotated).
func (k *Keyed) Versions() int { return max(1, len(k.links)) }

// Clone returns an independent Keyed with the same key.
func (k *Keyed) Clone() *Keyed {
	c, _ := New(k.key)
	return c
}

// Wipe erases the key copy held by k.
func (k *Keyed) Wipe() { k.key.Wipe(); k.h = nil; k.links = nil; clear(k.uids[:]) }

// Sum returns HMAC-SHA256(key, domain || 0x00 || data) under the first key
// version (see [New]). The returned slice is reused by the next call.
func (k *Keyed) Sum(domain, data string) []byte { return k.sumWith(k.h, domain, data) }

func (k *Keyed) sumWith(h hash.Hash, domain, data string) []byte {
	h.Reset()
	k.buf = append(k.buf[:0], domain...)
	k.buf = append(k.buf, 0)
	k.buf = append(k.buf, data...)
	h.Write(k.buf)
	k.sum = h.Sum(k.sum[:0])
	return k.sum
}

// Pseudonym returns the 32-character base32 pseudonym of basis in domain
// (through every version of a rotated key, see [New]).
func (k *Keyed) Pseudonym(domain, basis string) string {
	if len(k.links) == 0 {
		return k.encode(k.Sum(domain, basis))
	}
	p := k.encode(k.sumWith(k.links[0], domain, basis))
	for _, h := range k.links[1:] {
		p = k.encode(k.sumWith(h, DomainRotation, p))
	}
	return p
}

// Rotate returns the pseudonym that replaces old when the key moves to its
// latest version (issue 22, EDPB replacement plan): HMAC(latest version,
// "rotation", old), whatever the domain of old. No identity is needed.
func (k *Keyed) Rotate(old string) string {
	h := k.h
	if len(k.links) > 0 {
		h = k.links[len(k.links)-1]
	}
	return k.encode(k.sumWith(h, DomainRotation, old))
}

func (k *Keyed) encode(s []byte) string {
	var out [Len]byte
	encode20(&out, s)
	return string(out[:])
}

var alphabet = [32]byte([]byte("abcdefghijklmnopqrstuvwxyz234567"))

// encode20 writes the base32 of the first 20 bytes of s (lower-case RFC
// 4648 alphabet, no padding: the same as encoding/base32, which costs a tenth of
// a pseudonym for its generality; TestEncode20 and FuzzEncode20 compare the
// two). Each 5 bytes give 8 characters.
func encode20(out *[Len]byte, s []byte) {
	_ = s[19]
	for g := 0; g < 4; g++ {
		v := uint64(s[5*g])<<32 | uint64(s[5*g+1])<<24 | uint64(s[5*g+2])<<16 | uint64(s[5*g+3])<<8 | uint64(s[5*g+4])
		o := (*[8]byte)(out[8*g:])
		o[0], o[1], o[2], o[3] = alphabet[v>>35&31], alphabet[v>>30&31], alphabet[v>>25&31], alphabet[v>>20&31]
		o[4], o[5], o[6], o[7] = alphabet[v>>15&31], alphabet[v>>10&31], alphabet[v>>5&31], alphabet[v&31]
	}
}

// Patient returns the warehouse pseudonym of a patient basis (see [Basis]).
func (k *Keyed) Patient(basis string) string { return k.Pseudonym(DomainPatient, basis) }

// Professional returns the pseudonym of a healthcare professional
// (SEC-PSE-3): the RPPS number when known, else the normalized name.
func (k *Keyed) Professional(rpps, name string) string {
	if r := strings.TrimSpace(rpps); r != "" {
		return k.Pseudonym(DomainProfessional, "RPPS:"+r)
	}
	return k.Pseudonym(DomainProfessional, "NAME:"+Normalize(name))
}

// Import returns the new pseudonym of a record that arrives already
// pseudonymized by a source (SEC-PSE-2): the source's pseudonym is never
// kept, only re-keyed together with the source's name.
func (k *Keyed) Import(source, sourcePseudonym string) string {
	return k.Pseudonym(DomainImport, Normalize(source)+"|"+strings.TrimSpace(sourcePseudonym))
}

// Rekey returns a derived pseudonym of an existing pseudonym under this key:
// workspace pseudonyms (SEC-ESP-3) and pseudonym-key rotation
// (new = HMAC(new key, old pseudonym)).
func (k *Keyed) Rekey(domain, pseudonym string) string { return k.Pseudonym(domain, pseudonym) }

// UID maps a DICOM UID to a "2.25." UID derived from the keyed hash (128
// bits as a decimal integer), consistent for one key.
func (k *Keyed) UID(uid string) string {
	in := strings.TrimRight(strings.TrimSpace(uid), "\x00")
	for i := range k.uids {
		if m := &k.uids[i]; m.out != "" && m.in == in {
			return m.out
		}
	}
	s := k.Sum(DomainUID, in)
	// RFC 4122-style variant bits are not required for 2.25; keep 128 bits.
	out := "2.25." + decimal128(binary.BigEndian.Uint64(s[:8]), binary.BigEndian.Uint64(s[8:16]))
	// The input is copied: the caller's string may share a buffer that it
	// reuses.
	k.uids[k.uidNext] = struct{ in, out string }{strings.Clone(in), out}
	k.uidNext = (k.uidNext + 1) % uidMemo
	return out
}

// decimal128 writes the unsigned 128-bit integer hi<<64|lo in decimal, as
// big.Int's String does, without its allocations: 19 digits at a time.
func decimal128(hi, lo uint64) string {
	const chunk = 1e19
	var b [40]byte
	i := len(b)
	for hi != 0 || lo >= chunk {
		var r uint64
		hi, r = bits.Div64(0, hi, chunk)
		lo, r = bits.Div64(r, lo, chunk)
		for k := 0; k < 19; k++ {
			i--
			b[i] = byte('0' + r%10)
			r /= 10
		}
	}
	for {
		i--
		b[i] = byte('0' + lo%10)
		lo /= 10
		if lo == 0 {
			break
		}
	}
	return string(b[i:])
}

// DateShift returns the per-patient date shift in days, in [-365, -1]
// (dates move into the past, never to the same day), derived from the
// patient pseudonym so that all files of one patient shift together.
func (k *Keyed) DateShift(pseudonym string) int {
	s := k.Sum(DomainDateShift, pseudonym)
	return -1 - int(binary.BigEndian.Uint32(s[:4])%365)
}

// Token returns a random-looking 32-character name for a stored object,
// derived from a per-batch salt and an index, so that reruns are idempotent.
func (k *Keyed) Token(salt string, n int) string {
	return k.Pseudonym(DomainToken, salt+"|"+itoa(n))
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
