package dcm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/suyashkumar/dicom"

	"hdw/masking"
)

// Writing the output's native pixel data: from memory (reported to the
// residual scan as not to be read) or streamed from the source.

// writeNativePixels writes the top-level native PixelData element, last in
// the dataset, without copying its value. With streamed > 0 it writes the
// element header only (the value of that length follows from the source)
// and no padding, which [stream.copyRest] adds.
func writeNativePixels(w, values io.Writer, e *dicom.Element, ts string, streamed int64) error {
	info, ok := pixelInfoOf(e.Value)
	if !ok {
		return errors.New("pixel data value of unexpected type")
	}
	raw := info.UnprocessedValueData
	n := len(raw) + len(raw)%2
	if streamed > 0 {
		n = int(streamed + streamed%2)
	}
	var bo binary.AppendByteOrder = binary.LittleEndian
	if ts == tsExplicitBE {
		bo = binary.BigEndian
	}
	h := bo.AppendUint16(nil, 0x7FE0)
	h = bo.AppendUint16(h, 0x0010)
	if ts != tsImplicitLE {
		vr := e.RawValueRepresentation
		if vr != "OB" {
			vr = "OW"
		}
		h = append(h, vr[0], vr[1], 0, 0)
	}
	h = bo.AppendUint32(h, uint32(n))
	if _, err := w.Write(h); err != nil {
		return err
	}
	if streamed > 0 {
		return nil
	}
	if _, err := values.Write(raw); err != nil {
		return err
	}
	if n != len(raw) {
		_, err := values.Write([]byte{0})
		return err
	}
	return nil
}

// reportUnscanned writes pixel values through cw, reporting each write's
// bytes to the residual scan as bytes it need not read.
type reportUnscanned struct {
	cw *countingWriter
	u  masking.Unscanned
}

func (r *reportUnscanned) Write(p []byte) (int, error) {
	r.u.NotScanned(r.cw.n, int64(len(p)))
	return r.cw.Write(p)
}

// inHead returns the bytes of the pixel value already read with the head.
func (st *stream) inHead() []byte {
	n := min(st.sc.pxLen, len(st.head)-st.sc.pxOff)
	return st.head[st.sc.pxOff : st.sc.pxOff+n]
}

// writeHeadPixels writes the part of the pixel value read with the head
// to w (the buffered output, so that it leaves in the same write as the
// elements before it).
func (st *stream) writeHeadPixels(w io.Writer) error {
	_, err := w.Write(st.inHead())
	return err
}

// copyRest writes the rest of the pixel value of a streamed file, after
// the part in the head, straight from the source (io.Copy, so a file to
// file copy stays in the kernel; through [masking.CopierN] when the source
// is the dispatcher's buffered reader), then the padding byte of an odd
// length.
func (st *stream) copyRest(dst io.Writer) error {
	n := int64(st.sc.pxLen)
	rest := n - int64(len(st.inHead()))
	// dst and src are not wrapped, so that os.File's ReadFrom can copy in
	// the kernel; a failure of either is an I/O error, not a property of
	// the file, except a source that ends early.
	var copied int64
	var err error
	if c, ok := st.src.(masking.CopierN); ok {
		copied, err = c.CopyN(dst, rest)
	} else {
		copied, err = io.CopyN(dst, st.src, rest)
	}
	switch {
	case errors.Is(err, io.EOF) || err == nil && copied != rest:
		return masking.Quarantine("dicom file shorter than its declared size")
	case err != nil:
		return fmt.Errorf("dcm: copy pixel data: %w", err)
	}
	if n%2 == 1 {
		if _, err := dst.Write([]byte{0}); err != nil {
			return fmt.Errorf("dcm: write output: %w", err)
		}
	}
	return nil
}

// countingWriter keeps the first error of w and counts the bytes written.
type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}
