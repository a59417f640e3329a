package dcm

import (
	"bufio"
	"io"
)

// The Handler's recycled buffers: input buffers, buffered writers and the
// fast encoder's output (pools in Handler, dcm.go).

// maxPooled bounds the size of recycled buffers.
const maxPooled = 64 << 20

// getBuf returns a buffer of n bytes in the box that putBuf gives back
// to the pool (a new box at each Put was an allocation per file).
func (h *Handler) getBuf(n int) *[]byte {
	p, ok := h.bufs.Get().(*[]byte)
	if !ok {
		p = new([]byte)
	}
	if cap(*p) >= n {
		*p = (*p)[:n]
	} else {
		*p = make([]byte, n)
	}
	return p
}

// getWriter returns a recycled 64 KiB buffered writer onto dst.
func (h *Handler) getWriter(dst io.Writer) *bufio.Writer {
	if w, ok := h.writers.Get().(*bufio.Writer); ok {
		w.Reset(dst)
		return w
	}
	return bufio.NewWriterSize(dst, 64<<10)
}

func (h *Handler) putWriter(w *bufio.Writer) {
	w.Reset(nil)
	h.writers.Put(w)
}

func (h *Handler) putBuf(p *[]byte) {
	if cap(*p) <= maxPooled {
		h.bufs.Put(p)
	}
}
