package pipeline

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"testing"
)

// TestStageWritesInOrder (issue 24): the write stage hands every byte to
// the store writer in order, whatever the sizes of the de-identifier's
// writes, and its hash and size are those of the bytes.
func TestStageWritesInOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 3*stageChunk+12345)
	for i := range data {
		data[i] = byte(r.IntN(256))
	}
	var got bytes.Buffer
	s := stage(&got)
	for p := data; len(p) > 0; {
		n := min(len(p), 1+r.IntN(100<<10))
		if _, err := s.Write(p[:n]); err != nil {
			t.Fatal(err)
		}
		p = p[n:]
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatal("bytes differ")
	}
	if want := sha256.Sum256(data); s.sum() != hex.EncodeToString(want[:]) || s.size() != int64(len(data)) {
		t.Fatalf("hash or size wrong: %d", s.size())
	}
	if _, err := s.Write([]byte("x")); err == nil {
		t.Error("write after close accepted")
	}
}

type failAfter struct{ n int }

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("disk full")
	}
	f.n--
	return len(p), nil
}

// TestStageReportsWriteError: a failed store write is returned to the
// de-identifier (a later Write or Close), and the stage never blocks.
func TestStageReportsWriteError(t *testing.T) {
	s := stage(&failAfter{n: 1})
	buf := make([]byte, 64<<10)
	var werr error
	for range 200 {
		if _, werr = s.Write(buf); werr != nil {
			break
		}
	}
	cerr := s.Close()
	if werr == nil && cerr == nil {
		t.Fatal("write error lost")
	}
}

// TestStageAbort: an aborted stage stops without writing what is buffered.
func TestStageAbort(t *testing.T) {
	var got bytes.Buffer
	s := stage(&got)
	s.Write([]byte("partial"))
	s.Abort()
	s.Abort()
	if got.Len() != 0 {
		t.Errorf("%d bytes written after abort", got.Len())
	}
}
