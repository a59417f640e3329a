package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// RangeGetter is implemented by stores that read a byte range of an object
// at a known version (S3: GetObject with Range and If-Match). An object
// whose ETag is no longer etag gives an error wrapping ErrChanged.
type RangeGetter interface {
	GetRange(ctx context.Context, key string, off, n int64, etag string) (io.ReadCloser, error)
}

// Defaults of [NewRanges] (issue 24 item 2): objects of 16 MiB or more are
// fetched as ranges of 4 MiB, with at most 4 ranges (16 MiB) buffered ahead
// by the whole run and 2 by one object (three streams at once for an
// object: with 8 buffers, an ingest of 8 multi-frame CTs into an S3
// warehouse reached 207 MiB for no gain, every object being streamed
// already).
const (
	DefaultRangeMin   = 16 << 20
	DefaultRangeSize  = 4 << 20
	DefaultRangeAhead = 4
	rangesPerObject   = 2
)

// Ranges fetches the large objects of a store with ranged parallel GETs,
// delivered in order as one stream, in bounded memory: the range being read
// streams from its response (no buffer), and up to Ahead ranges of Size
// bytes, shared by every object the run reads at once, download into
// buffers while it does (at most rangesPerObject for one object). When no
// buffer is free an object is read range after range, as a plain GET would
// read it. Objects under Min bytes, objects without an ETag (their ranges
// could mix versions) and stores that are not RangeGetters are opened
// whole, as before. A range that fails fails the read of its object (the
// reader returns the error; nothing else is retried here: the SDK retries
// the request, a cut body is the object's fault for this run).
type Ranges struct {
	Min  int64
	Size int64
	// free holds the run's range buffers: nil entries are not allocated
	// yet. Its capacity is the number of buffers, ever.
	free chan *[]byte
}

// NewRanges returns Ranges of size bytes per range, for objects of at least
// min bytes, with ahead buffers for the run (0: the defaults).
func NewRanges(min, size int64, ahead int) *Ranges {
	if min <= 0 {
		min = DefaultRangeMin
	}
	if size <= 0 {
		size = DefaultRangeSize
	}
	if ahead <= 0 {
		ahead = DefaultRangeAhead
	}
	r := &Ranges{Min: min, Size: size, free: make(chan *[]byte, ahead)}
	for range ahead {
		r.free <- nil
	}
	return r
}

// Open opens obj of s: in ranges when it is large enough and s can read
// ranges, else with s.Open. A nil Ranges opens everything whole.
func (r *Ranges) Open(ctx context.Context, s Store, obj Info) (io.ReadCloser, error) {
	g, ok := s.(RangeGetter)
	if r == nil || !ok || obj.Size < r.Min || obj.ETag == "" {
		return s.Open(ctx, obj.Key)
	}
	ctx, cancel := context.WithCancel(ctx)
	rr := &rangedReader{ctx: ctx, cancel: cancel, g: g, key: obj.Key, etag: obj.ETag, size: obj.Size, rs: r}
	// The first range is opened now, so that a missing object or a refused
	// request fails Open, as with s.Open.
	if err := rr.advance(); err != nil {
		rr.Close()
		return nil, err
	}
	return rr, nil
}

// acquire takes a free buffer without waiting (nil, false: none free).
func (r *Ranges) acquire() (*[]byte, bool) {
	select {
	case b := <-r.free:
		if b == nil {
			nb := make([]byte, r.Size)
			b = &nb
		}
		return b, true
	default:
		return nil, false
	}
}

func (r *Ranges) release(b *[]byte) { r.free <- b }

// span is a range downloading into a buffer.
type span struct {
	off, n int64
	buf    *[]byte
	err    error
	done   chan struct{}
}

type rangedReader struct {
	ctx       context.Context
	cancel    context.CancelFunc
	g         RangeGetter
	key, etag string
	size      int64
	rs        *Ranges

	off      int64 // offset of the next byte to return
	end      int64 // end of the current range
	launched int64 // end of the last range started (streamed or buffered)
	head     io.ReadCloser
	cur      *span // the current range when buffered
	ahead    []*span
	err      error
	closed   bool
}

func (rr *rangedReader) rangeAt(off int64) int64 { return min(rr.rs.Size, rr.size-off) }

// advance moves to the range at rr.off: the next buffered one when it was
// started ahead, else a streamed GET; then starts ranges ahead as free
// buffers allow.
func (rr *rangedReader) advance() error {
	if len(rr.ahead) > 0 && rr.ahead[0].off == rr.off {
		s := rr.ahead[0]
		rr.ahead = rr.ahead[1:]
		rr.fill()
		select {
		case <-s.done:
		case <-rr.ctx.Done():
			// The span's goroutine ends on the cancelled context; Close waits.
			rr.ahead = append([]*span{s}, rr.ahead...)
			return rr.ctx.Err()
		}
		rr.cur, rr.end = s, s.off+s.n
		return s.err
	}
	n := rr.rangeAt(rr.off)
	body, err := rr.g.GetRange(rr.ctx, rr.key, rr.off, n, rr.etag)
	if err != nil {
		return err
	}
	rr.head, rr.end = body, rr.off+n
	rr.launched = max(rr.launched, rr.end)
	rr.fill()
	return nil
}

// fill starts downloads of the ranges after those started, while a buffer
// is free and this object has fewer than rangesPerObject ahead.
func (rr *rangedReader) fill() {
	for len(rr.ahead) < rangesPerObject && rr.launched < rr.size {
		b, ok := rr.rs.acquire()
		if !ok {
			return
		}
		s := &span{off: rr.launched, n: rr.rangeAt(rr.launched), buf: b, done: make(chan struct{})}
		rr.launched += s.n
		rr.ahead = append(rr.ahead, s)
		go rr.download(s)
	}
}

func (rr *rangedReader) download(s *span) {
	defer close(s.done)
	body, err := rr.g.GetRange(rr.ctx, rr.key, s.off, s.n, rr.etag)
	if err != nil {
		s.err = err
		return
	}
	defer body.Close()
	if _, err := io.ReadFull(body, (*s.buf)[:s.n]); err != nil {
		s.err = shortRange(rr.key, s.off, err)
	}
}

func shortRange(key string, off int64, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%s: range at byte %d ended early: %w", key, off, io.ErrUnexpectedEOF)
	}
	return err
}

func (rr *rangedReader) Read(p []byte) (int, error) {
	for {
		if rr.err != nil {
			return 0, rr.err
		}
		if rr.closed {
			return 0, errors.New("objstore: read after close")
		}
		if len(p) == 0 {
			return 0, nil
		}
		switch {
		case rr.cur != nil && rr.off < rr.end:
			k := copy(p, (*rr.cur.buf)[rr.off-rr.cur.off:rr.end-rr.cur.off])
			rr.off += int64(k)
			return k, nil
		case rr.head != nil && rr.off < rr.end:
			k, err := rr.head.Read(p[:min(int64(len(p)), rr.end-rr.off)])
			rr.off += int64(k)
			if err != nil && (err != io.EOF || rr.off < rr.end) {
				rr.err = shortRange(rr.key, rr.off, err)
			}
			if k > 0 {
				return k, nil
			}
			continue
		}
		rr.drop()
		if rr.off >= rr.size {
			return 0, io.EOF
		}
		if err := rr.advance(); err != nil {
			rr.err = err
		}
	}
}

// drop releases the finished current range.
func (rr *rangedReader) drop() {
	if rr.head != nil {
		rr.head.Close()
		rr.head = nil
	}
	if rr.cur != nil {
		rr.rs.release(rr.cur.buf)
		rr.cur = nil
	}
}

// Close stops the downloads still running and returns every buffer.
func (rr *rangedReader) Close() error {
	if rr.closed {
		return nil
	}
	rr.closed = true
	rr.cancel()
	rr.drop()
	for _, s := range rr.ahead {
		<-s.done // the cancelled context ends its request
		rr.rs.release(s.buf)
	}
	rr.ahead = nil
	return nil
}

// Idle returns the number of range buffers not in use (all of them when no
// ranged read is open).
func (r *Ranges) Idle() int { return len(r.free) }
