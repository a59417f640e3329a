// Package scantest helps test handlers that report output bytes the
// residual scan need not read ([masking.Unscanned]): a recorder of the
// reported ranges, and a replay of an output, changed by the test, through
// the residual scan with those ranges (what the scan would make of a
// handler that let an identifier through). It holds no identifying data.
package scantest

import (
	"bytes"
	"context"
	"io"

	"hdw/masking"
)

// Recorder is an output that records what a handler reports as not to be
// scanned: ranges, and the offset from which the Unscanned writer was
// used (a stream's copied tail).
type Recorder struct {
	bytes.Buffer
	ranges [][2]int64
	from   int64
	tail   bool
}

// NotScanned implements masking.Unscanned.
func (r *Recorder) NotScanned(off, n int64) { r.ranges = append(r.ranges, [2]int64{off, off + n}) }

// Unscanned implements masking.Unscanned.
func (r *Recorder) Unscanned() io.Writer {
	if !r.tail {
		r.from, r.tail = int64(r.Len()), true
	}
	return &r.Buffer
}

// Ranges returns the reported ranges [off, end), adjacent ones merged,
// the Unscanned tail included.
func (r *Recorder) Ranges() [][2]int64 {
	rs := append([][2]int64(nil), r.ranges...)
	if r.tail {
		rs = append(rs, [2]int64{r.from, int64(r.Len())})
	}
	var out [][2]int64
	for _, x := range rs {
		if n := len(out); n > 0 && out[n-1][1] == x[0] {
			out[n-1][1] = x[1]
			continue
		}
		out = append(out, x)
	}
	return out
}

// Insert returns out with b inserted at offset at, and ranges moved to
// match: a range that held offset at is split around b (what a handler
// that wrote b there would have reported), later ones are shifted.
func Insert(out []byte, ranges [][2]int64, at int, b []byte) ([]byte, [][2]int64) {
	o := append(append(append([]byte(nil), out[:at]...), b...), out[at:]...)
	n, a := int64(len(b)), int64(at)
	var rs [][2]int64
	for _, x := range ranges {
		switch {
		case x[1] <= a:
			rs = append(rs, x)
		case x[0] >= a:
			rs = append(rs, [2]int64{x[0] + n, x[1] + n})
		default:
			rs = append(rs, [2]int64{x[0], a}, [2]int64{a + n, x[1] + n})
		}
	}
	return o, rs
}

// Hit reports whether the residual scan finds one of p's identifiers in
// out written by a handler that reports ranges as not to be scanned (out
// is written in pieces that do not line up with its structure).
func Hit(ctx context.Context, out []byte, ranges [][2]int64, p masking.Person) (bool, error) {
	var sink bytes.Buffer
	_, err := masking.New(replay{out, ranges}).Deidentify(ctx, &sink, bytes.NewReader(out), int64(len(out)), p, masking.Options{})
	if masking.IsQuarantine(err) {
		return true, nil
	}
	return false, err
}

type replay struct {
	out    []byte
	ranges [][2]int64
}

func (replay) Sniff([]byte) bool { return true }

func (r replay) Deidentify(_ context.Context, dst io.Writer, _ io.Reader, _ int64, _ masking.Person, _ masking.Options) (masking.Result, error) {
	u := dst.(masking.Unscanned)
	for _, x := range r.ranges {
		u.NotScanned(x[0], x[1]-x[0])
	}
	for b := r.out; len(b) > 0; {
		n := min(len(b), 1000)
		if _, err := dst.Write(b[:n]); err != nil {
			return masking.Result{}, err
		}
		b = b[n:]
	}
	return masking.Result{}, nil
}
