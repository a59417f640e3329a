package envelope

import (
	"crypto/cipher"
	"fmt"
	"io"

	"hdw/keys"
)

// ReaderAt decrypts an envelope file at any offset, chunk by chunk: a
// Parquet reader seeks its footer and column chunks inside an encrypted
// table without the whole file in memory (tables, issue 17). Every chunk
// read is authenticated with its index and, for the last one, the last
// flag: a truncated, reordered or altered file fails with [ErrAuth] on the
// chunks touched (a Parquet reader always touches the last: the footer).
// It is safe for concurrent use; memory is one chunk per ReadAt in flight.
type ReaderAt struct {
	r      io.ReaderAt
	aead   cipher.AEAD
	size   int64 // plaintext
	chunks int64
}

// NewReaderAt returns a ReaderAt over r, an envelope file of ctSize bytes
// written by [NewWriter] with dek for the object named aad. Errors wrap
// [ErrFormat] or [ErrAuth].
func NewReaderAt(r io.ReaderAt, ctSize int64, dek keys.Secret, aad string) (*ReaderAt, error) {
	head := make([]byte, HeaderSize)
	if _, err := r.ReadAt(head, 0); err != nil {
		return nil, fmt.Errorf("%w: short header", ErrFormat)
	}
	if string(head[:len(magic)]) != magic {
		return nil, ErrFormat
	}
	body, full := ctSize-int64(HeaderSize), int64(chunkSize+tagSize)
	k, rem := body/full, body%full
	var size, chunks int64
	switch {
	case body <= 0:
		return nil, fmt.Errorf("%w: truncated", ErrAuth)
	case rem == 0:
		size, chunks = k*chunkSize, k
	case rem < tagSize:
		return nil, fmt.Errorf("%w: truncated", ErrAuth)
	default:
		size, chunks = k*chunkSize+rem-tagSize, k+1
	}
	a, err := fileAEAD(dek, head[len(magic):], aad)
	if err != nil {
		return nil, err
	}
	return &ReaderAt{r: r, aead: a, size: size, chunks: chunks}, nil
}

// Size returns the plaintext size.
func (r *ReaderAt) Size() int64 { return r.size }

// ReadAt implements io.ReaderAt over the plaintext.
func (r *ReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("envelope: negative offset")
	}
	b := getChunks()
	defer chunks.Put(b)
	ct := (*b)[:chunkSize+tagSize]
	n := 0
	for n < len(p) && off < r.size {
		i := off / chunkSize
		clen := int64(chunkSize + tagSize)
		if i == r.chunks-1 {
			clen = r.size - i*chunkSize + tagSize
		}
		m, err := r.r.ReadAt(ct[:clen], int64(HeaderSize)+i*int64(chunkSize+tagSize))
		if int64(m) < clen {
			if err == nil || err == io.EOF {
				err = fmt.Errorf("%w: truncated", ErrAuth)
			}
			return n, err
		}
		var nn [12]byte
		nonce(&nn, uint64(i), i == r.chunks-1)
		pt, err := r.aead.Open(ct[:0], nn[:], ct[:clen], nil)
		if err != nil {
			return n, ErrAuth
		}
		c := copy(p[n:], pt[off-i*chunkSize:])
		n += c
		off += int64(c)
	}
	clear(*b)
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}
