package photo

import (
	"io"

	"hdw/masking"
)

// output is a handler's output that knows which of its bytes are
// compressed image data copied from the input (JPEG entropy-coded spans,
// PNG IDAT data): they are reported to the residual scan as bytes it need
// not read ([masking.Unscanned]), like DICOM pixel values. Every other byte
// (segments, chunks, markers, CRCs) is scanned. Written to a buffer first
// (the pixels must be examined), the spans are kept and reported when the
// buffer goes out with [output.flushTo].
type output struct {
	w     io.Writer
	u     masking.Unscanned // the scan's, when w is the handler's dst
	n     int64             // bytes written
	spans [][2]int64        // kept when u is nil: offsets in this output
}

// newOutput returns the output onto w; dst is the handler's dst (w itself,
// or the dst the buffer w will go to).
func newOutput(w io.Writer, direct bool) *output {
	o := &output{w: w}
	if u, ok := w.(masking.Unscanned); ok && direct {
		o.u = u
	}
	return o
}

func (o *output) Write(p []byte) (int, error) {
	n, err := o.w.Write(p)
	o.n += int64(n)
	return n, err
}

// image writes p, whose bytes from..to are compressed image data copied
// from the input.
func (o *output) image(p []byte, from, to int) error {
	if to > from {
		if o.u != nil {
			o.u.NotScanned(o.n+int64(from), int64(to-from))
		} else {
			o.spans = append(o.spans, [2]int64{o.n + int64(from), o.n + int64(to)})
		}
	}
	_, err := o.Write(p)
	return err
}

// flushTo writes b (this output's bytes, buffered) to dst, reporting the
// kept spans.
func (o *output) flushTo(dst io.Writer, b []byte) error {
	if u, ok := dst.(masking.Unscanned); ok {
		for _, s := range o.spans {
			u.NotScanned(s[0], s[1]-s[0])
		}
	}
	_, err := dst.Write(b)
	return err
}
