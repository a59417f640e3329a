package pipeline

import (
	"errors"
	"io"
	"sync"

	"hdw/objstore"
)

// The write stage of an image: the de-identifier's output is encrypted,
// written to the warehouse and hashed in the same pass by an
// objstore.Digest (SHA-256 and size of the stored plaintext, the image's
// one content identity in the commit record and the health record: issue
// 24 item 7), on a goroutine of its own, fed through a bounded queue of
// chunks, so that one image's fetch, parse, de-identification and source
// hash overlap with the hashing, encryption and writing of what it already
// produced (issue 24: the two halves ran one after the other on one core).
// Memory: at most stageDepth+2 chunks of stageChunk bytes per image in
// flight (queued, being filled, being written), whatever the image's size.
const (
	stageChunk = 256 << 10
	stageDepth = 3
)

var stageBufs = sync.Pool{New: func() any { b := make([]byte, 0, stageChunk); return &b }}

// staged is the de-identifier's side of the write stage.
type staged struct {
	cur  *[]byte
	ch   chan *[]byte
	done chan struct{}

	mu  sync.Mutex
	err error // the first error of the write side

	dig    *objstore.Digest // written by run only; read after Close
	closed bool
}

// stage starts the write stage onto dst.
func stage(dst io.Writer) *staged {
	s := &staged{ch: make(chan *[]byte, stageDepth), done: make(chan struct{}), dig: objstore.NewDigest(dst)}
	go s.run()
	return s
}

func (s *staged) run() {
	defer close(s.done)
	failed := false
	for b := range s.ch {
		if !failed {
			if _, err := s.dig.Write(*b); err != nil {
				s.mu.Lock()
				s.err = err
				s.mu.Unlock()
				failed = true
			}
		}
		release(b)
	}
}

// release recycles a chunk. It holds de-identified output, the bytes the
// warehouse stores (encrypted), like the read buffers of the source side:
// it is not cleared (a pass over every output byte).
func release(b *[]byte) {
	*b = (*b)[:0]
	stageBufs.Put(b)
}

func (s *staged) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

var errStageClosed = errors.New("write after the image's write stage closed")

func (s *staged) Write(p []byte) (int, error) {
	if s.closed {
		return 0, errStageClosed
	}
	if err := s.failed(); err != nil {
		return 0, err
	}
	n := len(p)
	for len(p) > 0 {
		if s.cur == nil {
			s.cur = stageBufs.Get().(*[]byte)
		}
		b := *s.cur
		k := copy(b[len(b):cap(b)], p)
		*s.cur = b[:len(b)+k]
		p = p[k:]
		if len(*s.cur) == cap(*s.cur) {
			s.ch <- s.cur
			s.cur = nil
		}
	}
	return n, nil
}

// Close flushes what is buffered and waits for the write side; it returns
// the first write error. dst is not closed.
func (s *staged) Close() error {
	if s.closed {
		<-s.done
		return s.failed()
	}
	s.closed = true
	if s.cur != nil {
		s.ch <- s.cur
		s.cur = nil
	}
	close(s.ch)
	<-s.done
	return s.failed()
}

// Abort drops what is buffered and waits for the write side to stop.
func (s *staged) Abort() {
	if s.cur != nil {
		release(s.cur)
		s.cur = nil
	}
	if !s.closed {
		s.closed = true
		close(s.ch)
	}
	<-s.done
}

// sum is the hex SHA-256 of everything written (after Close).
func (s *staged) sum() string { return s.dig.Sum() }

// size is the number of bytes written (after Close).
func (s *staged) size() int64 { return s.dig.N }
