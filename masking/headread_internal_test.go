package masking

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"testing"
)

// headHandler reads the first HeadRead bytes of a file and copies the
// rest with CopyN, as the DICOM handler streams a large file.
type headHandler struct{}

func (headHandler) Sniff([]byte) bool { return true }

func (headHandler) Deidentify(_ context.Context, dst io.Writer, src io.Reader, size int64, _ Person, _ Options) (Result, error) {
	head := make([]byte, min(size, HeadRead))
	if _, err := io.ReadFull(src, head); err != nil {
		return Result{}, err
	}
	if _, err := dst.Write(head); err != nil {
		return Result{}, err
	}
	n, err := src.(CopierN).CopyN(dst, size-int64(len(head)))
	if err == nil && n != size-int64(len(head)) {
		err = io.ErrUnexpectedEOF
	}
	return Result{}, err
}

// firstReads records the size of each read asked of it.
type firstReads struct {
	r    io.Reader
	asks []int
}

func (f *firstReads) Read(p []byte) (int, error) {
	f.asks = append(f.asks, len(p))
	return f.r.Read(p)
}

// TestHeadReadThenCopyN: a file larger than the read buffer is read
// HeadRead bytes first, a smaller one in one read; either way a handler
// that reads its head and copies the rest writes the file unchanged.
func TestHeadReadThenCopyN(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, size := range []int{600, 40 << 10, 64 << 10, 64<<10 + 1, 526 << 10} {
		in := make([]byte, size)
		for i := range in {
			in[i] = byte(r.UintN(256))
		}
		src := &firstReads{r: bytes.NewReader(in)}
		var out bytes.Buffer
		if _, err := New(headHandler{}).Deidentify(t.Context(), &out, src, int64(size), Person{}, Options{}); err != nil {
			t.Fatalf("%d bytes: %v", size, err)
		}
		if !bytes.Equal(out.Bytes(), in) {
			t.Fatalf("%d bytes: output differs from the input", size)
		}
		if want := min(size, 64<<10); size > 64<<10 && src.asks[0] != HeadRead || size <= 64<<10 && src.asks[0] < want {
			t.Errorf("%d bytes: first read of %d bytes", size, src.asks[0])
		}
	}
}
