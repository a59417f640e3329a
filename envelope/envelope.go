// Package envelope owns encryption at rest (SEC-LOG-2, SRS-091): a
// streaming AES-256-GCM format for every file hdw stores, keyed by a data
// key (DEK) from package keys.
//
// # Format
//
//	magic   "HDWENC1\n" (8 bytes)
//	salt    32 random bytes
//	chunks  AES-256-GCM of 64 KiB plaintext chunks, each followed by its tag
//
// The file key is HKDF-SHA256(DEK, salt, "hdw envelope v1" || 0x00 || AAD),
// where AAD names the object (its key relative to the warehouse root), so a
// file moved to another name does not decrypt. The nonce of chunk i is the
// 11-byte big-endian counter i followed by a byte that is 1 on the last
// chunk and 0 otherwise (the STREAM construction): truncation, reordering
// and appending are detected. Memory is bounded by one chunk.
package envelope

import (
	"bufio"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"sync"

	"hdw/keys"
)

const (
	magic     = "HDWENC1\n"
	saltLen   = 32
	chunkSize = 64 << 10
	tagSize   = 16
	// HeaderSize is the size of the header before the first chunk.
	HeaderSize = len(magic) + saltLen
)

// ErrFormat means the input is not an envelope file.
var ErrFormat = errors.New("envelope: not an hdw encrypted file")

// ErrAuth means the data was altered, truncated, or the key or object name is wrong.
var ErrAuth = errors.New("envelope: authentication failed (wrong key, wrong object, or altered data)")

// Overhead returns the ciphertext size for a plaintext of n bytes.
func Overhead(n int64) int64 {
	chunks := n / chunkSize
	if n%chunkSize != 0 || n == 0 {
		chunks++
	}
	return int64(HeaderSize) + n + chunks*tagSize
}

func fileAEAD(dek keys.Secret, salt []byte, aad string) (cipher.AEAD, error) {
	if dek.Len() != 32 {
		return nil, errors.New("envelope: data key must be 32 bytes")
	}
	k, err := hkdf.Key(sha256.New, dek.Bytes(), salt, "hdw envelope v1\x00"+aad, 32)
	if err != nil {
		return nil, err
	}
	defer clear(k)
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

func nonce(n *[12]byte, i uint64, last bool) {
	clear(n[:])
	for j := 10; j >= 3; j-- {
		n[j] = byte(i)
		i >>= 8
	}
	if last {
		n[11] = 1
	}
}

type writer struct {
	w      io.Writer
	aead   cipher.AEAD
	chunks *[]byte // buf and out, from the pool
	buf    []byte
	out    []byte
	n      uint64
	closed bool
	err    error
}

// NewWriter returns a writer that encrypts to w under dek for the object
// named aad. Close must be called to write the last chunk; it does not
// close w.
func NewWriter(w io.Writer, dek keys.Secret, aad string) (io.WriteCloser, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	a, err := fileAEAD(dek, salt, aad)
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(w, magic); err != nil {
		return nil, err
	}
	if _, err := w.Write(salt); err != nil {
		return nil, err
	}
	b := getChunks()
	return &writer{w: w, aead: a, chunks: b, buf: (*b)[:0:chunkSize], out: (*b)[chunkSize:chunkSize]}, nil
}

// chunks recycles the plaintext and ciphertext buffers of closed writers:
// an ingest opens one writer per image, and fresh 128 KiB buffers each time
// are most of its allocations.
var chunks = sync.Pool{New: func() any { b := make([]byte, 2*chunkSize+tagSize); return &b }}

func getChunks() *[]byte { return chunks.Get().(*[]byte) }

// release clears the buffers (they held plaintext) and returns them.
func (w *writer) release() {
	if w.chunks == nil {
		return
	}
	clear(*w.chunks)
	chunks.Put(w.chunks)
	w.chunks, w.buf, w.out = nil, nil, nil
}

func (w *writer) flush(last bool) error {
	var nn [12]byte
	nonce(&nn, w.n, last)
	w.n++
	w.out = w.aead.Seal(w.out[:0], nn[:], w.buf, nil)
	w.buf = w.buf[:0]
	_, err := w.w.Write(w.out)
	return err
}

func (w *writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, errors.New("envelope: write after close")
	}
	if w.err != nil {
		return 0, w.err
	}
	total := 0
	for len(p) > 0 {
		if len(w.buf) == chunkSize {
			// Only flush a full chunk when more data follows, so that the
			// last chunk is always flagged.
			if w.err = w.flush(false); w.err != nil {
				return total, w.err
			}
		}
		n := copy(w.buf[len(w.buf):chunkSize], p)
		w.buf = w.buf[:len(w.buf)+n]
		p = p[n:]
		total += n
	}
	return total, nil
}

func (w *writer) Close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	defer w.release()
	if w.err != nil {
		return w.err
	}
	w.err = w.flush(true)
	return w.err
}

type reader struct {
	r    *bufio.Reader
	aead cipher.AEAD
	buf  []byte // ciphertext
	pt   []byte // pending plaintext
	n    uint64
	done bool
	err  error
}

// NewReader returns a reader that decrypts r, written by [NewWriter] with
// the same dek and aad. Errors wrap [ErrFormat] or [ErrAuth].
func NewReader(r io.Reader, dek keys.Secret, aad string) (io.Reader, error) {
	br := bufio.NewReaderSize(r, chunkSize+tagSize+1)
	head := make([]byte, HeaderSize)
	if _, err := io.ReadFull(br, head); err != nil {
		return nil, fmt.Errorf("%w: short header", ErrFormat)
	}
	if string(head[:len(magic)]) != magic {
		return nil, ErrFormat
	}
	a, err := fileAEAD(dek, head[len(magic):], aad)
	if err != nil {
		return nil, err
	}
	return &reader{r: br, aead: a, buf: make([]byte, chunkSize+tagSize)}, nil
}

func (r *reader) next() error {
	n, err := io.ReadFull(r.r, r.buf)
	last := false
	switch {
	case err == io.ErrUnexpectedEOF || err == io.EOF:
		last = true
	case err != nil:
		return err
	default:
		if _, perr := r.r.Peek(1); perr == io.EOF {
			last = true
		} else if perr != nil {
			return perr
		}
	}
	if n < tagSize {
		return fmt.Errorf("%w: truncated", ErrAuth)
	}
	var nn [12]byte
	nonce(&nn, r.n, last)
	r.n++
	pt, oerr := r.aead.Open(r.buf[:0], nn[:], r.buf[:n], nil)
	if oerr != nil {
		return ErrAuth
	}
	r.pt = pt
	r.done = last
	return nil
}

func (r *reader) Read(p []byte) (int, error) {
	for len(r.pt) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.done {
			return 0, io.EOF
		}
		if err := r.next(); err != nil {
			r.err = err
			return 0, err
		}
	}
	n := copy(p, r.pt)
	r.pt = r.pt[n:]
	return n, nil
}
