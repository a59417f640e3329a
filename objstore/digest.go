package objstore

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
)

// Digest passes what is written to W and keeps its SHA-256 and size: the
// integrity hash of an object computed while it streams, never by reading
// it again.
type Digest struct {
	W io.Writer
	N int64
	h hash.Hash
}

// NewDigest returns a Digest writing to w.
func NewDigest(w io.Writer) *Digest { return &Digest{W: w, h: sha256.New()} }

func (d *Digest) Write(p []byte) (int, error) {
	n, err := d.W.Write(p)
	d.h.Write(p[:n])
	d.N += int64(n)
	return n, err
}

// Sum is the hex SHA-256 of what was written.
func (d *Digest) Sum() string { return hex.EncodeToString(d.h.Sum(nil)) }
