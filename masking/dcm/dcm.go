package dcm

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"hdw/masking"
	"hdw/masking/dcm/internal/annexe"
)

// Edition is the DICOM edition of the Annex E table applied.
const Edition = annexe.Edition

// ImplementationClassUID and ImplementationVersionName identify hdw in the
// file meta of its outputs.
const (
	ImplementationClassUID    = "2.25.195431578216381097712470530416296651977"
	ImplementationVersionName = "HDW_DEID_1"
)

// ErrNoUIDMapper is returned when Options.UIDs is nil: a configuration
// error, not a property of the file.
var ErrNoUIDMapper = errors.New("dcm: no uid mapper configured")

// Config configures a [Handler]. It holds nothing secret.
type Config struct {
	// Defaults replace Options.DICOM when the caller leaves it as the zero
	// value. The zero Defaults means [DefaultOptions].
	Defaults *masking.DICOMOptions
	// Clean, when set, scrubs free text kept by the Clean Descriptors and
	// Retain Patient Characteristics options (action C on text). Without it
	// those attributes get their basic profile action.
	Clean func(text string, p masking.Person) string
	// ExamineAll runs the OCR finder (when Options.OCR is set) on every
	// native image, not only on those known to carry burned-in text; text
	// found is blanked, an image without text passes. Encapsulated images
	// that cannot be examined are then quarantined.
	ExamineAll bool
	// StrictNoText quarantines secondary capture and "other" images in
	// which OCR finds no text (the strict profile); by default they are
	// stored with the action [ActionOCRNoText]. It also keeps the
	// quarantine of every external-camera photograph without operator
	// boxes, whose faces are then not looked for.
	StrictNoText bool
	// Faces finds faces, barcodes and QR codes in DICOM photographs
	// (modality XC, VL Photographic Image) and in images declaring
	// Recognizable Visual Features YES, when Options.Faces is set
	// (faces.go); nil: those files are quarantined unless operator boxes
	// are given.
	Faces PhotoFinder
}

// DefaultOptions returns the default Annex E options: the "research"
// profile (see [Profile]).
func DefaultOptions() masking.DICOMOptions {
	o, _ := Profile(DefaultProfile)
	return o
}

// defaultOptions is DefaultOptions, built once: the handler only reads
// its options (never appends to their SafePrivate list).
var defaultOptions = DefaultOptions()

// Handler de-identifies DICOM Part 10 files. It implements
// masking.Handler and is safe for concurrent use.
type Handler struct {
	cfg Config
	// bufs recycles input buffers (nothing refers to one once Deidentify
	// returns): fresh half-megabyte buffers per file cost page faults that
	// dominate the de-identification itself.
	bufs    sync.Pool
	writers sync.Pool
	// encoded recycles the fast encoder's output buffers (apart from bufs,
	// so that the large input buffers stay for input).
	encoded sync.Pool
	// arenas recycles the fast decoder's blocks (arena.go).
	arenas sync.Pool
	// libraryCodec parses and writes with suyashkumar/dicom only, never
	// with the fast decoder and encoder (the oracle, for tests).
	libraryCodec bool
}

// maxPooled bounds the size of recycled buffers.
const maxPooled = 64 << 20

func (h *Handler) getBuf(n int) []byte {
	if p, ok := h.bufs.Get().(*[]byte); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]byte, n)
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

func (h *Handler) putBuf(b []byte) {
	if cap(b) <= maxPooled {
		h.bufs.Put(&b)
	}
}

var _ masking.Handler = (*Handler)(nil)

// New returns a DICOM handler.
func New(cfg Config) *Handler { return &Handler{cfg: cfg} }

// Sniff reports whether head starts with a DICOM preamble: "DICM" at
// offset 128. Raw datasets without a preamble are not recognized (and so
// quarantined by the dispatcher as unsupported).
func (h *Handler) Sniff(head []byte) bool {
	return len(head) >= 132 && string(head[128:132]) == "DICM"
}

// Deidentify parses the DICOM file in the first size bytes of src, applies
// the Annex E profile and options, masks burned-in text and writes the clean
// file to dst. It returns a *masking.QuarantineError when the file cannot be
// made clean, ErrNoUIDMapper when o.UIDs is nil, the context's error when
// ctx is done, and a wrapped write error when dst fails. The caller must
// discard dst on any error.
func (h *Handler) Deidentify(ctx context.Context, dst io.Writer, src io.Reader, size int64, p masking.Person, o masking.Options) (res masking.Result, err error) {
	if o.UIDs == nil {
		return masking.Result{}, ErrNoUIDMapper
	}
	if err := ctx.Err(); err != nil {
		return masking.Result{}, err
	}
	maxBytes := o.MaxBytes
	if maxBytes <= 0 {
		maxBytes = 512 << 20
	}
	if size > maxBytes {
		return masking.Result{}, masking.Quarantine("file of %d bytes exceeds the limit of %d bytes", size, maxBytes)
	}
	if size < 132 {
		return masking.Result{}, masking.Quarantine("dicom file too short")
	}
	opts := o.DICOM
	if isZero(opts) {
		opts = defaultOptions
		if h.cfg.Defaults != nil {
			opts = *h.cfg.Defaults
		}
	}

	// Files larger than the head are streamed when their native pixel data
	// runs to the end of the file and needs no edit: only the elements
	// before the pixels are held in memory, the pixel value is copied from
	// src to dst. Every other file is read whole (bounded by MaxBytes), so
	// the pre-scan rejects forged lengths before the parser allocates them.
	headN := size
	if size > int64(streamHead) {
		// What the dispatcher read first (masking.HeadRead), or less.
		headN = int64(min(streamHead, masking.HeadRead))
	}
	buf := h.getBuf(int(headN))
	defer func() { h.putBuf(buf) }()
	if _, err := io.ReadFull(src, buf); err != nil {
		return masking.Result{}, masking.Quarantine("dicom file shorter than its declared size")
	}
	var st *stream
	for headN < size {
		sc, more := preScanHead(buf, size)
		if sc != nil {
			st = &stream{head: buf, src: src, sc: sc}
			break
		}
		if !more {
			break
		}
		// The elements before the pixels do not fit yet: read four times more.
		n := min(size, 4*headN)
		if n == size || n > maxPooled {
			break
		}
		nb, err := h.readMore(src, buf, n)
		if err != nil {
			return masking.Result{}, err
		}
		buf, headN = nb, n
	}
	if st != nil {
		res, err := h.deidentify(ctx, dst, buf, size, st, opts, p, o)
		if !errors.Is(err, errNeedPixels) {
			return res, err
		}
	}
	if headN < size {
		// Read the rest of the file (a streamed attempt read nothing more).
		nb, err := h.readMore(src, buf, size)
		if err != nil {
			return masking.Result{}, err
		}
		buf = nb
	}
	return h.deidentify(ctx, dst, buf, size, nil, opts, p, o)
}

// readMore returns a pooled buffer of n bytes holding buf and the next
// n-len(buf) bytes of src, buf given back to the pool; a file that ends
// before is quarantined.
func (h *Handler) readMore(src io.Reader, buf []byte, n int64) ([]byte, error) {
	nb := h.getBuf(int(n))
	copy(nb, buf)
	if _, err := io.ReadFull(src, nb[len(buf):]); err != nil {
		h.putBuf(nb)
		return nil, masking.Quarantine("dicom file shorter than its declared size")
	}
	h.putBuf(buf)
	return nb, nil
}

// streamHead is the size up to which a file is read whole; longer ones
// may be streamed, their first read being masking.HeadRead bytes (or
// streamHead if less). A variable so that tests can force either path.
var streamHead = 64 << 10

// errNeedPixels stops a streamed attempt whose pixels must be examined or
// edited: the caller reads the whole file and starts again.
var errNeedPixels = errors.New("dcm: pixel data needed in memory")

// stream is a file whose top-level native pixel data is copied from src
// after the head (which holds every element before it) is de-identified.
type stream struct {
	head []byte
	src  io.Reader
	sc   *scanner
}

// deidentify de-identifies the file in buf (the whole file when st is nil,
// the head of a streamed one otherwise).
func (h *Handler) deidentify(ctx context.Context, dst io.Writer, buf []byte, size int64, st *stream, opts masking.DICOMOptions, p masking.Person, o masking.Options) (res masking.Result, err error) {
	var ts string
	var sc *scanner
	if st != nil {
		ts, sc = st.sc.ts, st.sc
	} else {
		ts, sc, err = preScan(buf)
		if err != nil {
			return masking.Result{}, masking.Quarantine("%s", sc.structureReason())
		}
		if ts == tsDeflated {
			limit := o.MaxBytes
			if limit <= 0 {
				limit = 512 << 20
			}
			if buf, err = inflate(buf, limit); err != nil {
				if masking.IsQuarantine(err) {
					return masking.Result{}, err
				}
				return masking.Result{}, masking.Quarantine("dicom structure inconsistent")
			}
			if ts, sc, err = preScan(buf); err != nil {
				return masking.Result{}, masking.Quarantine("%s (inflated)", sc.structureReason())
			}
		}
	}
	switch {
	case ts == tsDeflated:
		return masking.Result{}, masking.Quarantine("deflated transfer syntax not supported")
	case ts == tsImplicitLE || ts == tsExplicitLE || ts == tsExplicitBE || encapsulatedSyntaxes[ts]:
	default:
		return masking.Result{}, masking.Quarantine("transfer syntax not supported (%s)", codecName(ts))
	}
	// Native pixel data is not copied by the parser: it is sliced from buf
	// (and blanked in place when masked), then written straight out; a
	// streamed file's parse stops before it.
	parsed := buf
	if st != nil {
		parsed = buf[:sc.pxHdr]
	}
	ar, _ := h.arenas.Get().(*arena)
	if ar == nil {
		ar = newArena()
	}
	defer func() { // after every use of the dataset, the deferred recover below included
		ar.release()
		h.arenas.Put(ar)
	}()
	textEnd := 0
	if sc.pxNative {
		textEnd = sc.pxOff
	}
	ds, err := h.parse(parsed, sc.pxNative, ar, textEnd)
	if err != nil {
		return masking.Result{}, err
	}
	if st != nil {
		e := ar.newElement()
		*e = dicom.Element{Tag: tag.PixelData, ValueRepresentation: tag.VRPixelData, RawValueRepresentation: sc.pxVR,
			ValueLength: uint32(sc.pxLen), Value: newValue(&ar.vals.pixels, dicom.PixelDataInfo{IntentionallyUnprocessed: true})}
		ds.Elements = append(ds.Elements, e)
	} else if sc.pxNative {
		for i, e := range ds.Elements {
			if e.Tag == tag.PixelData {
				ne := ar.element(e)
				ne.Value = newValue(&ar.vals.pixels, dicom.PixelDataInfo{IntentionallyUnprocessed: true, UnprocessedValueData: buf[sc.pxOff : sc.pxOff+sc.pxLen]})
				ds.Elements[i] = ne
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return masking.Result{}, err
	}
	defer func() {
		// The walker works on a parsed tree of untrusted shape: a panic
		// there is a quarantine, never a crash of the ingest.
		if r := recover(); r != nil {
			res, err = masking.Result{}, masking.Quarantine("dicom structure not supported")
		}
	}()
	d := &deid{ar: ar, cfg: h.cfg, opts: opts, p: p, o: o}
	if st != nil {
		d.streamLen = int64(sc.pxLen)
	}
	out, err := d.run(ctx, ds)
	if err != nil {
		return masking.Result{}, err
	}
	bw := h.getWriter(dst)
	defer h.putWriter(bw)
	cw := &countingWriter{w: bw}
	var tail *dicom.Element
	if n := len(out); sc.pxNative && n > 0 && out[n-1].Tag == tag.PixelData {
		tail, out = out[n-1], out[:n-1]
	}
	if err := h.write(cw, out); err != nil {
		if cw.err != nil {
			return masking.Result{}, fmt.Errorf("dcm: write output: %w", cw.err)
		}
		return masking.Result{}, masking.Quarantine("dicom cannot be written back")
	}
	if st != nil && tail == nil {
		return masking.Result{}, masking.Quarantine("dicom pixel data not last")
	}
	// Native pixel values go around the residual scan when the caller's
	// writer allows it: they are sample values copied or masked here. They
	// are reported as a byte range of the output (the one buffered write
	// of a small file stays one write).
	var values io.Writer = cw
	pxDst := dst
	if u, ok := dst.(masking.Unscanned); ok && tail != nil {
		values = &reportUnscanned{cw: cw, u: u}
	}
	if tail != nil {
		if err := writeNativePixels(cw, values, tail, ts, d.streamLen); err != nil {
			return masking.Result{}, fmt.Errorf("dcm: write output: %w", err)
		}
	}
	if st != nil {
		// The pixel bytes read with the head go out in the same write as
		// the elements before them (reported unscanned like the values of
		// a whole file), the rest straight from the source.
		if err := st.writeHeadPixels(values); err != nil {
			return masking.Result{}, fmt.Errorf("dcm: write output: %w", err)
		}
		if err := bw.Flush(); err != nil {
			return masking.Result{}, fmt.Errorf("dcm: write output: %w", err)
		}
		if u, ok := dst.(masking.Unscanned); ok {
			pxDst = u.Unscanned()
		}
		if err := st.copyRest(pxDst); err != nil {
			return masking.Result{}, err
		}
	}
	if err := bw.Flush(); err != nil {
		return masking.Result{}, fmt.Errorf("dcm: write output: %w", err)
	}
	return d.result(), nil
}

// parse reads the dataset in b, keeping native pixel data as raw bytes:
// with the fast decoder when it can reproduce the library's dataset
// exactly, else with the library. Every failure, including a panic inside
// the parser, is a quarantine whose reason holds no value of the file.
func (h *Handler) parse(b []byte, skipPixels bool, ar *arena, textEnd int) (dicom.Dataset, error) {
	if !h.libraryCodec {
		if ds, err := decodeFast(b, skipPixels, ar, textEnd); err == nil {
			return ds, nil
		}
	}
	return parseLibrary(b, skipPixels)
}

// decodeFast is decodeDataset with a panic sent back to the library.
func decodeFast(b []byte, skipPixels bool, ar *arena, textEnd int) (ds dicom.Dataset, err error) {
	defer func() {
		if r := recover(); r != nil {
			ds, err = dicom.Dataset{}, errNotFast
		}
	}()
	return decodeDataset(b, skipPixels, ar, textEnd)
}

// write writes the dataset els: encoded in a recycled buffer by the fast
// encoder, or by the library when the encoder does not handle it.
func (h *Handler) write(w io.Writer, els []*dicom.Element) error {
	if !h.libraryCodec {
		var buf []byte
		if p, ok := h.encoded.Get().(*[]byte); ok {
			buf = *p
		}
		enc, err := encodeDataset(buf[:0], dicom.Dataset{Elements: els})
		if err == nil {
			_, err = w.Write(enc)
			buf = enc
		}
		if cap(buf) <= maxPooled {
			h.encoded.Put(&buf)
		}
		if err != errNotFast {
			return err
		}
	}
	return dicom.Write(w, dicom.Dataset{Elements: els}, dicom.SkipVRVerification())
}

func parseLibrary(b []byte, skipPixels bool) (ds dicom.Dataset, err error) {
	defer func() {
		if r := recover(); r != nil {
			ds, err = dicom.Dataset{}, masking.Quarantine("dicom does not parse")
		}
	}()
	pixelOpt := dicom.SkipProcessingPixelDataValue()
	if skipPixels {
		pixelOpt = dicom.SkipPixelData()
	}
	ds, err = dicom.Parse(bytes.NewReader(b), int64(len(b)), nil, pixelOpt, dicom.AllowUnknownSpecificCharacterSet())
	if err != nil && !errors.Is(err, dicom.ErrorEndOfDICOM) {
		return dicom.Dataset{}, masking.Quarantine("dicom does not parse")
	}
	return ds, nil
}

func isZero(o masking.DICOMOptions) bool {
	return o.Profile == "" && !o.RetainLongitudinalModifiedDates && !o.RetainLongitudinalFullDates && !o.CleanDescriptors &&
		!o.RetainPatientCharacteristics && !o.RetainDeviceIdentity && !o.RetainSafePrivate && len(o.SafePrivate) == 0 &&
		!o.CleanStructuredContent && !o.CleanGraphics
}

// Transfer syntaxes.
const (
	tsImplicitLE = "1.2.840.10008.1.2"
	tsExplicitLE = "1.2.840.10008.1.2.1"
	tsExplicitBE = "1.2.840.10008.1.2.2"
	tsDeflated   = "1.2.840.10008.1.2.1.99"
)

// encapsulatedSyntaxes are the compressed transfer syntaxes whose files are
// passed when no pixel edit is needed (their pixel data is copied as
// encapsulated fragments, never decoded).
var encapsulatedSyntaxes = map[string]bool{
	"1.2.840.10008.1.2.4.50": true, "1.2.840.10008.1.2.4.51": true, "1.2.840.10008.1.2.4.57": true,
	"1.2.840.10008.1.2.4.70": true, "1.2.840.10008.1.2.4.80": true, "1.2.840.10008.1.2.4.81": true,
	"1.2.840.10008.1.2.4.90": true, "1.2.840.10008.1.2.4.91": true, "1.2.840.10008.1.2.4.92": true,
	"1.2.840.10008.1.2.4.93": true, "1.2.840.10008.1.2.4.201": true, "1.2.840.10008.1.2.4.202": true,
	"1.2.840.10008.1.2.4.203": true, "1.2.840.10008.1.2.5": true,
}

func firstString(e *dicom.Element) string {
	if e == nil || e.Value == nil {
		return ""
	}
	switch e.Value.ValueType() {
	case dicom.Strings:
		if v := stringsOf(e.Value); len(v) > 0 {
			return strings.TrimRight(strings.TrimSpace(v[0]), "\x00")
		}
	case dicom.Bytes:
		v, _ := e.Value.GetValue().([]byte)
		return strings.TrimRight(strings.TrimSpace(string(v)), "\x00 ")
	}
	return ""
}

func firstInt(e *dicom.Element) (int, bool) {
	if e == nil || e.Value == nil {
		return 0, false
	}
	switch e.Value.ValueType() {
	case dicom.Ints:
		if v := intsOf(e.Value); len(v) > 0 {
			return v[0], true
		}
	case dicom.Strings:
		// IS values: an optional sign and digits, padded with spaces.
		if n, err := strconv.Atoi(strings.TrimPrefix(firstString(e), "+")); err == nil {
			return n, true
		}
	}
	return 0, false
}

func find(els []*dicom.Element, t tag.Tag) *dicom.Element {
	for _, e := range els {
		if e.Tag == t {
			return e
		}
	}
	return nil
}
