package masking

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
)

// Identifier is one identifying value of the person a file belongs to, known
// from the manifest. Kind is the generic token that replaces it in free text
// (SEC-PSE-4): NIR, NAME_OF_BIRTH, LAST_NAME, FIRST_NAME, BIRTH_DATE,
// ADDRESS, CODE_POSTAL, CITY, TEL, EMAIL, PPI, IEP, FILE_NAME, UID, ...
type Identifier struct {
	Kind  string
	Value string
}

// Person is what is known of the person a file belongs to.
type Person struct {
	// Pseudonym replaces PatientName and PatientID.
	Pseudonym string
	// Identifiers are the person's identifying values, searched for by the
	// text scrubber and by the residual scan. They are never written out.
	Identifiers []Identifier
	// DateShiftDays is the per-person keyed date shift (negative or
	// positive) applied when dates are modified rather than removed.
	DateShiftDays int
}

// Box is a rectangle in pixel coordinates, [X0,X1) x [Y0,Y1).
type Box struct{ X0, Y0, X1, Y1 int }

// RegionMask is a burned-in text mask configured for a device (configs/).
// Empty Manufacturer or Model match any.
type RegionMask struct {
	Manufacturer string
	Model        string
	Rows, Cols   int // 0 matches any image size
	Boxes        []Box
}

// TextFinder locates text in an 8-bit grayscale image (OCR). Implementations
// live outside the pure core (for example behind the "ocr" build tag).
type TextFinder interface {
	FindText(ctx context.Context, gray []byte, width, height int) ([]Box, error)
}

// UIDMapper maps an original DICOM UID to its replacement (a keyed "2.25."
// UID). It must be deterministic for one warehouse key.
type UIDMapper func(uid string) string

// DICOMOptions are the Annex E options of PS3.15 chosen in configuration.
type DICOMOptions struct {
	// Profile names the options profile these come from (masking/dcm
	// profiles); set, it marks the options as configured even when every
	// option is off (the zero DICOMOptions means the handler's default).
	Profile                         string
	RetainLongitudinalModifiedDates bool // default true: dates shifted by Person.DateShiftDays
	RetainLongitudinalFullDates     bool
	CleanDescriptors                bool
	RetainPatientCharacteristics    bool
	RetainDeviceIdentity            bool
	RetainSafePrivate               bool
	CleanStructuredContent          bool // SR content trees kept, their text scrubbed
	CleanGraphics                   bool // presentation-state graphics kept, their text scrubbed
	// SafePrivate lists creator-qualified private tags kept with
	// RetainSafePrivate, as "CREATOR|gggg,xxee" (xx is the block placeholder).
	SafePrivate []string
}

// Options configure one de-identification.
type Options struct {
	DICOM DICOMOptions
	// UIDs remaps UIDs; required for DICOM.
	UIDs UIDMapper
	// Masks are the configured burned-in text regions per device.
	Masks []RegionMask
	// Boxes are operator-given boxes for this file (manifest mask_boxes).
	Boxes []Box
	// OCR finds burned-in text where no mask is configured; nil means
	// files that need it are quarantined.
	OCR TextFinder
	// MaxBytes bounds the input size (0: 512 MiB).
	MaxBytes int64
	// MaxPixels bounds decoded image dimensions, width*height*frames (0: 100 M).
	MaxPixels int64
	// Faces enables face and eye masking in photos (default on in configs).
	Faces bool
}

// Result describes a clean output. It holds no identifying value.
type Result struct {
	Format  string   // "dicom", "jpeg", "png", "tiff", "webp"
	Ext     string   // file extension for the output, e.g. ".dcm", ".jpg"
	Actions []string // what was done, e.g. "annexE:basic", "exif:removed", "faces:2"
	// DICOM facts for the health record (already de-identified).
	Modality          string
	StudyInstanceUID  string // remapped
	SeriesInstanceUID string // remapped
	SOPInstanceUID    string // remapped
	PatientID         string // as found in the source, only for the contradiction check; never stored
	PatientName       string // as found in the source, only for the contradiction check; never stored
}

// QuarantineError means the file cannot be proven clean. Reason never
// contains an identifying value.
type QuarantineError struct{ Reason string }

func (e *QuarantineError) Error() string { return "quarantined: " + e.Reason }

// Quarantine returns a *QuarantineError with a formatted reason. Never pass
// identifying values as arguments.
func Quarantine(format string, args ...any) error {
	return &QuarantineError{Reason: fmt.Sprintf(format, args...)}
}

// IsQuarantine reports whether err is (or wraps) a *QuarantineError.
func IsQuarantine(err error) bool {
	var q *QuarantineError
	return errors.As(err, &q)
}

// RejectError means the input is not something the warehouse stores (a
// DICOMDIR media index, for one): it is rejected with the reason, not
// quarantined, since there is nothing to clean. Reason never contains an
// identifying value.
type RejectError struct{ Reason string }

func (e *RejectError) Error() string { return "rejected: " + e.Reason }

// Reject returns a *RejectError with a formatted reason. Never pass
// identifying values as arguments.
func Reject(format string, args ...any) error {
	return &RejectError{Reason: fmt.Sprintf(format, args...)}
}

// IsReject reports whether err is (or wraps) a *RejectError.
func IsReject(err error) bool {
	var r *RejectError
	return errors.As(err, &r)
}

// Handler de-identifies one file format.
type Handler interface {
	// Sniff reports whether the first bytes of a file (up to 512) belong to
	// this format.
	Sniff(head []byte) bool
	// Deidentify reads at most size bytes of src and writes the clean file to
	// dst. It returns a *QuarantineError when the file cannot be made clean.
	Deidentify(ctx context.Context, dst io.Writer, src io.Reader, size int64, p Person, o Options) (Result, error)
}

// readers recycles the 64 KiB read buffers of Deidentify (one per file;
// handlers do not keep the reader once they return).
var readers = sync.Pool{New: func() any { return &source{br: bufio.NewReaderSize(nil, 64<<10)} }}

// CopierN is implemented by the reader a [Handler] gets from
// [Deidentifier.Deidentify]: CopyN copies the next n bytes of the source
// to w, the bytes already buffered first, then the rest from the
// caller's reader as it is (between two files, io.Copy copies in the
// kernel; through the read buffer it cannot). It returns the bytes copied
// and io.EOF when the source ends early.
type CopierN interface {
	CopyN(w io.Writer, n int64) (int64, error)
}

// HeadRead is the first read of a file larger than the read buffer (64
// KiB), where a file that fits is read in one: a handler that copies the
// rest of a large file file to file ([CopierN]) then has had only its
// head go through memory.
const HeadRead = 16 << 10

// source is the buffered reader a handler gets: the first bytes are
// peeked for sniffing, the rest may be copied around the buffer.
type source struct {
	br *bufio.Reader
	lr io.LimitedReader // the caller's reader, bounded to the declared size
	// first bounds the next read from lr (0: none), for HeadRead.
	first int
}

// fill is the reader under br: lr, its first read bounded by first.
type fill source

func (f *fill) Read(p []byte) (int, error) {
	if f.first > 0 {
		p = p[:min(len(p), f.first)]
		f.first = 0
	}
	return f.lr.Read(p)
}

func (s *source) Read(p []byte) (int, error) { return s.br.Read(p) }

func (s *source) CopyN(w io.Writer, n int64) (int64, error) {
	var done int64
	if b := min(int64(s.br.Buffered()), n); b > 0 {
		head, _ := s.br.Peek(int(b))
		m, err := w.Write(head)
		_, _ = s.br.Discard(m)
		done += int64(m)
		if err != nil {
			return done, err
		}
	}
	if done == n {
		return done, nil
	}
	// The buffer is empty: read from the caller's reader directly, in one
	// LimitedReader around it (os.File.ReadFrom recognizes that shape).
	rest := &io.LimitedReader{R: s.lr.R, N: min(n-done, s.lr.N)}
	m, err := io.Copy(w, rest)
	s.lr.N -= m
	done += m
	if err == nil && done < n {
		err = io.EOF
	}
	return done, err
}

// Deidentifier dispatches a file to the handler that recognizes it.
type Deidentifier struct{ handlers []Handler }

// New returns a Deidentifier trying handlers in order.
func New(handlers ...Handler) *Deidentifier { return &Deidentifier{handlers: handlers} }

// Deidentify sniffs src, de-identifies it with the matching handler and
// writes the clean output to dst. A file no handler recognizes is
// quarantined ("unsupported file type"). The caller must discard dst when
// an error is returned.
func (d *Deidentifier) Deidentify(ctx context.Context, dst io.Writer, src io.Reader, size int64, p Person, o Options) (Result, error) {
	max := o.MaxBytes
	if max <= 0 {
		max = 512 << 20
	}
	if size > max {
		return Result{}, Quarantine("file of %d bytes exceeds the limit of %d bytes", size, max)
	}
	sr := readers.Get().(*source)
	sr.lr = io.LimitedReader{R: src, N: size}
	sr.first = 0
	if size > int64(sr.br.Size()) {
		sr.first = HeadRead
	}
	sr.br.Reset((*fill)(sr))
	defer func() { sr.br.Reset(nil); sr.lr.R = nil; readers.Put(sr) }()
	head, _ := sr.br.Peek(512)
	for _, h := range d.handlers {
		if h.Sniff(head) {
			return deidentifyScanned(ctx, h, dst, sr, size, p, o)
		}
	}
	return Result{}, Quarantine("unsupported file type")
}

// deidentifyScanned runs h with the residual scan on every output byte
// (fail closed). (Apart from Deidentify's loop, so that its defer is not
// one allocated per call.)
func deidentifyScanned(ctx context.Context, h Handler, dst io.Writer, src io.Reader, size int64, p Person, o Options) (Result, error) {
	sc := getScanner(p)
	defer putScanner(sc)
	w := &scanned{dst: dst, sc: sc}
	w.skips = w.skipBuf[:0]
	res, err := h.Deidentify(ctx, w, src, size, p, o)
	if err != nil {
		return res, err
	}
	if kind, hit := sc.Hit(); hit {
		return Result{}, Quarantine("residual identifier found in the output (%s)", kind)
	}
	return res, nil
}

// Unscanned is implemented by the writer a [Handler] gets from
// [Deidentifier.Deidentify], for bytes the residual scan need not read: a
// handler uses it only for native pixel sample values it copied or masked
// itself (sample values are not text; burned-in text is the pixel
// masker's), never for any other element, which the scan still reads.
//
// NotScanned reports a byte range of the output, counted from the first
// byte written to this writer: when those bytes are written (through a
// buffer, in any pieces) they go to the output unread by the scan, which
// sees a gap there (no match joins the bytes on either side). Unscanned
// returns a writer onto the same output whose bytes the scan does not read
// (a stream's last value, copied file to file).
type Unscanned interface {
	NotScanned(off, n int64)
	Unscanned() io.Writer
}

// scanned writes to the output and to the residual scan.
type scanned struct {
	dst     io.Writer
	sc      *Scanner
	pos     int64       // bytes written through Write
	skips   []skipRange // reported by NotScanned, ascending
	skipBuf [2]skipRange
}

type skipRange struct {
	off, end int64
	entered  bool // the scan has marked the gap
}

func (w *scanned) Write(p []byte) (int, error) {
	n, err := w.dst.Write(p)
	w.scan(p[:n])
	return n, err
}

// scan feeds the bytes of p (at the output offset w.pos) to the scan,
// except those in a reported range.
func (w *scanned) scan(p []byte) {
	for len(p) > 0 {
		for len(w.skips) > 0 && w.skips[0].end <= w.pos {
			w.skips = w.skips[1:]
		}
		if len(w.skips) == 0 || w.skips[0].off >= w.pos+int64(len(p)) {
			_, _ = w.sc.Write(p)
			w.pos += int64(len(p))
			return
		}
		r := &w.skips[0]
		if r.off > w.pos {
			k := r.off - w.pos
			_, _ = w.sc.Write(p[:k])
			p, w.pos = p[k:], w.pos+k
		}
		if !r.entered {
			w.sc.Skip()
			r.entered = true
		}
		k := min(r.end-w.pos, int64(len(p)))
		p, w.pos = p[k:], w.pos+k
	}
}

func (w *scanned) NotScanned(off, n int64) {
	if n <= 0 || off < w.pos {
		return // bytes already written were scanned: nothing to skip
	}
	r := skipRange{off: off, end: off + n}
	i := len(w.skips)
	for i > 0 && w.skips[i-1].off > off {
		i--
	}
	if i > 0 && w.skips[i-1].end > off || i < len(w.skips) && w.skips[i].off < r.end {
		return // overlapping ranges: the bytes are scanned (fail closed)
	}
	w.skips = slices.Insert(w.skips, i, r)
}

func (w *scanned) Unscanned() io.Writer {
	w.sc.Skip()
	return w.dst
}
