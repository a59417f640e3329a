package photo

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"sync"

	"github.com/disintegration/imaging"
	pigo "github.com/esimov/pigo/core"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"

	"hdw/masking"
)

//go:embed cascade/facefinder
var facefinder []byte

// puploc is pigo's pupil-localisation cascade (MIT, cascade/LICENSE-pigo).
//
//go:embed cascade/puploc
var puploc []byte

// Config configures the handler. The zero value is usable.
type Config struct {
	// FaceMaxSide bounds the longer side of the grey image faces are
	// looked for in (0: 2048 pixels): a larger photo is reduced by an
	// integer factor first, so that the smallest face found (20 pixels of
	// the reduced image) stays about 1% of the photo's longer side. At full
	// resolution a 24 MP photo takes 8 s of CPU; reduced, under 1 s.
	FaceMaxSide int
	// FaceMinSize is the side, in pixels of the photo, of the smallest
	// face that must be found (0: 24, the smallest face of the labeled
	// recall set, TestSEC_PSE_4_FaceRecall). Windows smaller than that
	// are not tried: the smallest windows are the most numerous (their
	// shift is 10% of their size), so 24 instead of pigo's usual 20 saves
	// a quarter of the face pass. A photo reduced by FaceMaxSide finds
	// faces of 20 reduced pixels or more, whichever is larger.
	FaceMinSize int
	// MaxDecodedPixels bounds the pixels decoded at once by all calls of
	// the handler (0: 32 M, one 24 MP photo and small ones): each costs 2
	// to 8 bytes while it is masked, so concurrent workers on large photos
	// would otherwise hold gigabytes. Calls wait for their turn.
	MaxDecodedPixels int64
}

// Handler de-identifies photos. It is safe for concurrent use.
type Handler struct {
	cfg    Config
	pixels *budget
	face   *pigo.Pigo // ClusterDetections only: findFaces runs the cascade
	faceC  *cascade
	eyes   *pigo.PuplocCascade
	// readers (*bufio.Reader of bufSize bytes), buffers (*bytes.Buffer
	// for kept JPEG header segments), offsets (*[]int32, the cascade's
	// node offsets) and grays (*[]uint8, a photo's luma) are reused from
	// file to file.
	readers, buffers, offsets, grays sync.Pool
}

// New returns a Handler.
func New(cfg Config) *Handler {
	p, err := pigo.NewPigo().Unpack(facefinder)
	if err != nil {
		panic("photo: embedded cascade: " + err.Error())
	}
	c, err := parseCascade(facefinder)
	if err != nil {
		panic("photo: embedded cascade: " + err.Error())
	}
	e, err := pigo.NewPuplocCascade().UnpackCascade(puploc)
	if err != nil {
		panic("photo: embedded puploc cascade: " + err.Error())
	}
	if cfg.FaceMaxSide <= 0 {
		cfg.FaceMaxSide = 2048
	}
	if cfg.FaceMinSize <= 0 {
		cfg.FaceMinSize = 24
	}
	if cfg.MaxDecodedPixels <= 0 {
		cfg.MaxDecodedPixels = 32 << 20
	}
	return &Handler{cfg: cfg, pixels: newBudget(cfg.MaxDecodedPixels), face: p, faceC: c, eyes: e}
}

var _ masking.Handler = (*Handler)(nil)

func (h *Handler) getReader(r io.Reader) *bufio.Reader {
	if br, ok := h.readers.Get().(*bufio.Reader); ok {
		br.Reset(r)
		return br
	}
	return bufio.NewReaderSize(r, bufSize)
}

func (h *Handler) putReader(br *bufio.Reader) {
	br.Reset(nil) // drop the source
	h.readers.Put(br)
}

func (h *Handler) getBuffer() *bytes.Buffer {
	if b, ok := h.buffers.Get().(*bytes.Buffer); ok {
		b.Reset()
		return b
	}
	return new(bytes.Buffer)
}

func (h *Handler) putBuffer(b *bytes.Buffer) {
	if b.Cap() <= 1<<20 { // an unusually large header is not kept
		h.buffers.Put(b)
	}
}

func kind(head []byte) string {
	switch {
	case len(head) >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF:
		return "jpeg"
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(head, []byte("II*\x00")) || bytes.HasPrefix(head, []byte("MM\x00*")):
		return "tiff"
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		return "webp"
	case len(head) >= 12 && string(head[4:8]) == "ftyp" && heifBrands[string(head[8:12])]:
		return "heic"
	case isBMP(head):
		return "bmp"
	case bytes.HasPrefix(head, []byte("GIF87a")) || bytes.HasPrefix(head, []byte("GIF89a")):
		return "gif"
	case isJXL(head):
		return "jxl"
	}
	return ""
}

// Sniff implements masking.Handler.
func (h *Handler) Sniff(head []byte) bool { return kind(head) != "" }

func maxPixels(o masking.Options) int64 {
	if o.MaxPixels > 0 {
		return o.MaxPixels
	}
	return 100_000_000
}

// Deidentify implements masking.Handler.
func (h *Handler) Deidentify(ctx context.Context, dst io.Writer, src io.Reader, size int64, p masking.Person, o masking.Options) (masking.Result, error) {
	br := h.getReader(io.LimitReader(src, size))
	defer h.putReader(br)
	head, _ := br.Peek(18)
	switch kind(head) {
	case "jpeg":
		return h.jpeg(ctx, dst, br, size, o)
	case "png":
		return h.png(ctx, dst, br, size, o)
	case "tiff":
		return h.decoded(ctx, dst, br, o, "tiff")
	case "webp":
		return h.decoded(ctx, dst, br, o, "webp")
	case "heic":
		return h.heif(ctx, dst, br, o)
	case "bmp":
		return h.bmp(ctx, dst, br, o)
	case "gif":
		return h.gif(ctx, dst, br, o)
	case "jxl":
		return h.jxl(ctx, dst, br, o)
	}
	return masking.Result{}, masking.Quarantine("unsupported photo type")
}

// ---- JPEG ----

// bufSize is the size of the pooled read buffers: at least one whole
// marker segment (65,537 bytes) must fit, so that segments are inspected
// in place (Peek) instead of being copied.
const bufSize = 256 << 10

var errBadJPEG = masking.Quarantine("JPEG structure is damaged")

// isStandalone reports whether a marker has no length field (SOI, EOI,
// RSTn, TEM).
func isStandalone(m byte) bool {
	return m == 0xD8 || m == 0xD9 || (m >= 0xD0 && m <= 0xD7) || m == 0x01
}

// peekSegment returns the next header segment's marker and payload
// (without the length bytes) as a view of r's buffer, valid until the
// next read of r, and the number of bytes to discard to consume the
// segment (fill bytes, marker, length, payload). Standalone markers have a
// nil payload.
func peekSegment(r *bufio.Reader) (m byte, data []byte, n int, err error) {
	b, err := r.Peek(2)
	if err != nil || b[0] != 0xFF {
		return 0, nil, 0, errBadJPEG
	}
	fill := 0
	for b[1] == 0xFF { // fill bytes
		fill++
		if b, err = r.Peek(fill + 2); err != nil {
			return 0, nil, 0, errBadJPEG
		}
		b = b[fill:]
	}
	m = b[1]
	if isStandalone(m) {
		return m, nil, fill + 2, nil
	}
	if b, err = r.Peek(fill + 4); err != nil {
		return 0, nil, 0, errBadJPEG
	}
	l := int(binary.BigEndian.Uint16(b[fill+2:]))
	if l < 2 {
		return 0, nil, 0, errBadJPEG
	}
	if b, err = r.Peek(fill + 2 + l); err != nil {
		return 0, nil, 0, errBadJPEG
	}
	return m, b[fill+4:], fill + 2 + l, nil
}

// appendSegment appends a segment as the rewriter writes it: standalone
// SOI, EOI and RSTn as two bytes, any other marker (TEM included) with a
// length field.
func appendSegment(b *bytes.Buffer, m byte, data []byte) {
	if data == nil && m != 0x01 && isStandalone(m) {
		b.Write([]byte{0xFF, m})
		return
	}
	b.Write([]byte{0xFF, m, byte((len(data) + 2) >> 8), byte(len(data) + 2)})
	b.Write(data)
}

// keepSegment decides which header segments survive.
func keepSegment(m byte, data []byte) bool {
	switch {
	case m == 0xE0: // APP0: JFIF/JFXX; JFXX may carry a thumbnail: keep JFIF only
		return bytes.HasPrefix(data, []byte("JFIF\x00"))
	case m == 0xE2:
		return bytes.HasPrefix(data, []byte("ICC_PROFILE\x00"))
	case m == 0xEE: // Adobe: colour transform, no text
		return bytes.HasPrefix(data, []byte("Adobe"))
	case m >= 0xE1 && m <= 0xEF: // APP1 EXIF/XMP, APP13 IPTC, others
		return false
	case m == 0xFE: // COM
		return false
	}
	return true // DQT, DHT, SOFn, DRI, SOS ...
}

func isSOF(m byte) bool {
	return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC
}

// exifOrientation returns the orientation tag of an APP1 Exif payload (1 if absent).
func exifOrientation(data []byte) int {
	if !bytes.HasPrefix(data, []byte("Exif\x00\x00")) || len(data) < 14 {
		return 1
	}
	t := data[6:]
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	off := int(bo.Uint32(t[4:8]))
	if off < 8 || off+2 > len(t) {
		return 1
	}
	n := int(bo.Uint16(t[off:]))
	for i := 0; i < n && off+2+12*i+12 <= len(t); i++ {
		e := t[off+2+12*i:]
		if bo.Uint16(e[0:2]) == 0x0112 {
			v := int(bo.Uint16(e[8:10]))
			if v >= 1 && v <= 8 {
				return v
			}
		}
	}
	return 1
}

// jpeg rewrites a JPEG: header segments are inspected in r's buffer and
// the kept ones gathered in a pooled buffer (one write); the entropy-coded
// data is then copied in spans of up to bufSize bytes straight from r's
// buffer to the output (copyScans). Nothing is decoded unless a pixel
// must change (orientation, boxes, faces).
func (h *Handler) jpeg(ctx context.Context, dst io.Writer, r *bufio.Reader, size int64, o masking.Options) (masking.Result, error) {
	res := masking.Result{Format: "jpeg", Ext: ".jpg"}
	m, _, n, err := peekSegment(r)
	if err != nil || m != 0xD8 {
		return res, errBadJPEG
	}
	r.Discard(n)
	hdr := h.getBuffer()
	defer h.putBuffer(hdr)
	hdr.Write([]byte{0xFF, 0xD8})
	var iccAt [][2]int // ICC payloads in hdr (for the re-encode path)
	orientation := 1
	var w, hgt int
	dropped := 0
	for {
		m, data, n, err := peekSegment(r)
		if err != nil {
			return res, err
		}
		if m == 0xE1 {
			if v := exifOrientation(data); v != 1 {
				orientation = v
			}
		}
		if isSOF(m) && len(data) >= 5 {
			hgt = int(binary.BigEndian.Uint16(data[1:3]))
			w = int(binary.BigEndian.Uint16(data[3:5]))
			if int64(w)*int64(hgt) > maxPixels(o) || w == 0 {
				return res, masking.Quarantine("image dimensions exceed limit (%dx%d)", w, hgt)
			}
		}
		if !keepSegment(m, data) {
			dropped++
			r.Discard(n)
			continue
		}
		if m == 0xE2 { // kept APP2: ICC profile
			iccAt = append(iccAt, [2]int{hdr.Len() + 4, hdr.Len() + 4 + len(data)})
		}
		appendSegment(hdr, m, data)
		r.Discard(n)
		if m == 0xDA { // SOS: entropy-coded data follows
			break
		}
		if m == 0xD9 {
			return res, errBadJPEG
		}
	}
	if w == 0 {
		return res, errBadJPEG
	}
	res.Actions = append(res.Actions, fmt.Sprintf("jpeg:segments-removed:%d", dropped))
	// Copy the scans, dropping APP/COM segments between scans and any
	// trailer after EOI.
	needPixels := orientation != 1 || len(o.Boxes) > 0 || o.Faces
	var body bytes.Buffer
	out := newOutput(dst, true)
	if needPixels {
		body.Grow(int(min(size, 64<<20)))
		out = newOutput(&body, false)
	}
	if _, err := out.Write(hdr.Bytes()); err != nil {
		return res, err
	}
	if err := copyScans(out, r); err != nil {
		return res, err
	}
	if !needPixels {
		res.Actions = append(res.Actions, "jpeg:lossless")
		return res, nil
	}
	release, err := h.pixels.acquire(ctx, int64(w)*int64(hgt))
	if err != nil {
		return res, err
	}
	defer release()
	img, err := jpeg.Decode(bytes.NewReader(body.Bytes()))
	if err != nil {
		return res, masking.Quarantine("JPEG cannot be decoded for masking")
	}
	img = orient(img, orientation)
	if orientation != 1 {
		res.Actions = append(res.Actions, fmt.Sprintf("orientation:%d-baked", orientation))
	}
	nr, eyes, err := h.mask(ctx, &img, o)
	if err != nil {
		return res, err
	}
	if nr == 0 && orientation == 1 {
		// Nothing to change: the lossless copy stands.
		err := out.flushTo(dst, body.Bytes())
		res.Actions = append(res.Actions, "jpeg:lossless", "faces:0")
		return res, err
	}
	res.Actions = append(res.Actions, fmt.Sprintf("masked-regions:%d", nr), fmt.Sprintf("masked-eyes:%d", eyes))
	icc := make([][]byte, len(iccAt))
	for i, at := range iccAt {
		icc[i] = hdr.Bytes()[at[0]:at[1]]
	}
	return res, encodeJPEG(dst, img, icc)
}

// copyScans copies entropy-coded data and the segments between scans until
// EOI, which it writes; bytes after EOI are dropped. Runs of entropy-coded
// bytes, stuffed 0xFF00, RSTn markers and a final EOI included, are written
// as they lie in r's buffer (one write per buffer); only a marker (a
// segment between scans) or fill bytes (0xFF 0xFF..., dropped) take the
// slow path, copyMarker. The spans are compressed image data copied from
// the input: the residual scan need not read them (see [output]); the
// segments between scans are scanned.
func copyScans(w *output, r *bufio.Reader) error {
	for {
		if r.Buffered() < 2 {
			r.Peek(2) // fill; a short buffer is handled below
		}
		buf, _ := r.Peek(r.Buffered())
		n, end := scanSpan(buf)
		if n > 0 {
			if err := w.image(buf[:n], 0, n); err != nil {
				return err
			}
			r.Discard(n)
		}
		switch end {
		case spanEOI:
			return nil
		case spanMarker:
			done, err := copyMarker(w, r)
			if done || err != nil {
				return err
			}
		case spanMore:
			if n == 0 && len(buf) < 2 {
				// The input ends here (no EOI), or on a lone 0xFF.
				return errBadJPEG
			}
		}
	}
}

// How a span of entropy-coded data ends.
const (
	spanMore   = iota // end of the buffered bytes (perhaps on a 0xFF whose next byte is not buffered)
	spanMarker        // a marker or fill bytes follow
	spanEOI           // the span ends with EOI
)

// scanSpan returns how many leading bytes of buf to copy as they are and
// how the span ends.
func scanSpan(buf []byte) (n int, end int) {
	i := 0
	for {
		j := bytes.IndexByte(buf[i:], 0xFF)
		if j < 0 {
			return len(buf), spanMore
		}
		k := i + j
		if k+1 == len(buf) {
			return k, spanMore
		}
		switch m := buf[k+1]; {
		case m == 0x00 || (m >= 0xD0 && m <= 0xD7):
			i = k + 2
		case m == 0xD9:
			return k + 2, spanEOI
		default:
			return k, spanMarker
		}
	}
}

// copyMarker handles the marker r is positioned on (0xFF, then fill bytes,
// then the marker byte): stuffed bytes and RSTn are written without their
// fill bytes, EOI is written and ends the copy (done), a segment between
// scans is written when keepSegment keeps it.
func copyMarker(w io.Writer, r *bufio.Reader) (done bool, err error) {
	b, err := r.Peek(2)
	if err != nil {
		return false, errBadJPEG
	}
	fill := 0
	for b[1] == 0xFF {
		fill++
		if b, err = r.Peek(fill + 2); err != nil {
			return false, errBadJPEG
		}
		b = b[fill:]
	}
	m := b[1]
	switch {
	case m == 0x00 || (m >= 0xD0 && m <= 0xD7):
		_, err := w.Write([]byte{0xFF, m})
		r.Discard(fill + 2)
		return false, err
	case m == 0xD9:
		_, err := w.Write([]byte{0xFF, 0xD9})
		return true, err
	}
	// Between scans every marker is read with a length field.
	if b, err = r.Peek(fill + 4); err != nil {
		return false, errBadJPEG
	}
	l := int(binary.BigEndian.Uint16(b[fill+2:]))
	if l < 2 {
		return false, errBadJPEG
	}
	if b, err = r.Peek(fill + 2 + l); err != nil {
		return false, errBadJPEG
	}
	seg := b[fill:]
	if keepSegment(m, seg[4:]) {
		if _, err := w.Write(seg); err != nil {
			return false, err
		}
	}
	r.Discard(fill + 2 + l)
	return false, nil
}

func orient(img image.Image, o int) image.Image {
	switch o {
	case 2:
		return imaging.FlipH(img)
	case 3:
		return imaging.Rotate180(img)
	case 4:
		return imaging.FlipV(img)
	case 5:
		return imaging.Transpose(img)
	case 6:
		return imaging.Rotate270(img)
	case 7:
		return imaging.Transverse(img)
	case 8:
		return imaging.Rotate90(img)
	}
	return img
}

func encodeJPEG(w io.Writer, img image.Image, icc [][]byte) error {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		return err
	}
	b := buf.Bytes()
	var head bytes.Buffer
	head.Write(b[:2])
	for _, p := range icc {
		appendSegment(&head, 0xE2, p)
	}
	if _, err := w.Write(head.Bytes()); err != nil {
		return err
	}
	_, err := w.Write(b[2:])
	return err
}

// mask fills faces and their eyes (when o.Faces) and o.Boxes; it returns
// how many regions (boxes and faces) and how many eyes were filled.
func (h *Handler) mask(ctx context.Context, img *image.Image, o masking.Options) (int, int, error) {
	var boxes []image.Rectangle
	nEyes := 0
	for _, b := range o.Boxes {
		boxes = append(boxes, image.Rect(b.X0, b.Y0, b.X1, b.Y1))
	}
	if o.Faces {
		// One luma image for the three passes (none of them writes it).
		b := (*img).Bounds()
		gp := h.getGray(b.Dx() * b.Dy())
		g := grayInto(*gp, *img)
		faces, eyes := h.facesIn(g, b)
		boxes = append(boxes, faces...)
		nEyes = len(eyes)
		boxes = append(boxes, eyes...)
		// Barcodes and QR codes are looked for with the faces (the
		// visible-content pass): they encode patient numbers.
		boxes = append(boxes, h.codesIn(g, b)...)
		words, err := h.textIn(ctx, g, b, o.OCR)
		h.grays.Put(gp)
		if err != nil {
			return 0, 0, err
		}
		boxes = append(boxes, words...)
	}
	if len(boxes) == 0 {
		return 0, 0, nil
	}
	rgba := image.NewRGBA((*img).Bounds())
	draw.Draw(rgba, rgba.Bounds(), *img, (*img).Bounds().Min, draw.Src)
	for _, r := range boxes {
		draw.Draw(rgba, r.Intersect(rgba.Bounds()), &image.Uniform{color.Black}, image.Point{}, draw.Src)
	}
	*img = rgba
	return len(boxes) - nEyes, nEyes, ctx.Err()
}

// faces returns face rectangles with a 25% margin (covers eyes and hairline)
// and, inside each face, the two eye regions located with pigo's puploc
// cascade (SEC-PSE-4: faces and eyes are masked). puploc draws random
// perturbations, so eye boxes are clipped to their face box: the filled
// union, hence the output, stays deterministic.
func (h *Handler) faces(img image.Image) (faces, eyes []image.Rectangle) {
	return h.facesIn(grayPixels(img), img.Bounds())
}

// faceMinWindow is the smallest window the cascade is run with, in pixels
// of the image it runs on (pigo's usual minimum).
const faceMinWindow = 20

// facesIn is faces on the luma g of a photo of bounds b.
func (h *Handler) facesIn(g []uint8, b image.Rectangle) (faces, eyes []image.Rectangle) {
	gray, cols, rows, f := reduce(g, b.Dx(), b.Dy(), h.cfg.FaceMaxSide)
	ip := pigo.ImageParams{Pixels: gray, Rows: rows, Cols: cols, Dim: cols}
	minSize := max(faceMinWindow, h.cfg.FaceMinSize/f)
	params := pigo.CascadeParams{MinSize: minSize, MaxSize: min(rows, cols), ShiftFactor: 0.1, ScaleFactor: 1.1, ImageParams: ip}
	offs, _ := h.offsets.Get().(*[]int32)
	if offs == nil {
		offs = new([]int32)
	}
	var dets []pigo.Detection
	dets, *offs = h.faceC.run(params, *offs)
	h.offsets.Put(offs)
	dets = h.face.ClusterDetections(dets, 0.2)
	// at maps a point of the reduced image to the photo.
	at := func(row, col int) image.Point { return image.Pt(b.Min.X+col*f+f/2, b.Min.Y+row*f+f/2) }
	for _, d := range dets {
		if d.Q < faceMinQ {
			continue
		}
		half := (d.Scale*5/8)*f + f/2
		c := at(d.Row, d.Col)
		face := image.Rect(c.X-half, c.Y-half, c.X+half, c.Y+half)
		faces = append(faces, face)
		for _, side := range []float32{-0.185, 0.185} {
			pl := h.eyes.RunDetector(pigo.Puploc{
				Row: d.Row - int(0.085*float32(d.Scale)), Col: d.Col + int(side*float32(d.Scale)),
				Scale: float32(d.Scale) * 0.4, Perturbs: 50,
			}, ip, 0, false)
			if pl.Row <= 0 || pl.Col <= 0 {
				continue
			}
			r := int(float32(d.Scale)*0.12)*f + f/2 // eye half-size around the pupil
			e := at(pl.Row, pl.Col)
			eye := image.Rect(e.X-r, e.Y-r, e.X+r, e.Y+r).Intersect(face)
			if !eye.Empty() {
				eyes = append(eyes, eye)
			}
		}
	}
	return faces, eyes
}

// reduce returns the w x h grey image g reduced by the smallest integer
// factor f that brings its longer side to maxSide or less (box filter:
// each pixel the mean of an f x f block), with its size and f. With f = 1
// it returns g as is.
func reduce(g []uint8, w, h, maxSide int) ([]uint8, int, int, int) {
	f := (max(w, h) + maxSide - 1) / maxSide
	if f <= 1 {
		return g, w, h, 1
	}
	rw, rh := w/f, h/f
	out := make([]uint8, rw*rh)
	sums := make([]uint32, rw)
	for ry := 0; ry < rh; ry++ {
		clear(sums)
		for y := ry * f; y < ry*f+f; y++ {
			row := g[y*w : y*w+rw*f]
			for x, v := range row {
				sums[x/f] += uint32(v)
			}
		}
		n := uint32(f * f)
		for x, s := range sums {
			out[ry*rw+x] = uint8((s + n/2) / n)
		}
	}
	return out, rw, rh, f
}

// budget is a weighted semaphore of decoded pixels.
type budget struct {
	mu         sync.Mutex
	free, size int64
	freed      chan struct{} // closed (and replaced) at every release
}

func newBudget(size int64) *budget {
	return &budget{free: size, size: size, freed: make(chan struct{})}
}

// acquire waits until n pixels (at most the whole budget) are free, takes
// them and returns their release; it fails only when ctx is done.
func (b *budget) acquire(ctx context.Context, n int64) (func(), error) {
	n = min(max(n, 1), b.size)
	for {
		b.mu.Lock()
		if b.free >= n {
			b.free -= n
			b.mu.Unlock()
			return func() {
				b.mu.Lock()
				b.free += n
				close(b.freed)
				b.freed = make(chan struct{})
				b.mu.Unlock()
			}, nil
		}
		wait := b.freed
		b.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// grayPixels returns the luma of img, row after row. A decoded JPEG
// (YCbCr) or a gray image gives its Y plane as is; other images go pixel
// by pixel through color.GrayModel (45 ms for 2 MP, against 0.2 ms for
// the plane copy).
func grayPixels(img image.Image) []uint8 {
	b := img.Bounds()
	return grayInto(make([]uint8, b.Dx()*b.Dy()), img)
}

// getGray returns a pooled buffer of n bytes (to be put back in h.grays).
func (h *Handler) getGray(n int) *[]uint8 {
	p, _ := h.grays.Get().(*[]uint8)
	if p == nil {
		p = new([]uint8)
	}
	if cap(*p) < n {
		*p = make([]uint8, n)
	}
	*p = (*p)[:n]
	return p
}

// grayInto is grayPixels into gray (len: the image's pixels). An RGBA or
// NRGBA image (a photo whose orientation was baked, a PNG) is converted
// from its pixel slice with color.GrayModel's formula, the same values
// without an interface call per pixel.
func grayInto(gray []uint8, img image.Image) []uint8 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	switch m := img.(type) {
	case *image.NRGBA:
		for y := 0; y < h; y++ {
			o := m.PixOffset(b.Min.X, b.Min.Y+y)
			row, out := m.Pix[o:o+4*w], gray[y*w:(y+1)*w]
			for x := range out {
				p := row[4*x : 4*x+4]
				a := uint32(p[3])
				r, g, bl := uint32(p[0])*0x101*a/0xff, uint32(p[1])*0x101*a/0xff, uint32(p[2])*0x101*a/0xff
				out[x] = uint8((19595*r + 38470*g + 7471*bl + 1<<15) >> 24)
			}
		}
		return gray
	case *image.RGBA:
		for y := 0; y < h; y++ {
			o := m.PixOffset(b.Min.X, b.Min.Y+y)
			row, out := m.Pix[o:o+4*w], gray[y*w:(y+1)*w]
			for x := range out {
				p := row[4*x : 4*x+4]
				r, g, bl := uint32(p[0])*0x101, uint32(p[1])*0x101, uint32(p[2])*0x101
				out[x] = uint8((19595*r + 38470*g + 7471*bl + 1<<15) >> 24)
			}
		}
		return gray
	}
	switch m := img.(type) {
	case *image.YCbCr:
		for y := 0; y < h; y++ {
			o := m.YOffset(b.Min.X, b.Min.Y+y)
			copy(gray[y*w:(y+1)*w], m.Y[o:o+w])
		}
		return gray
	case *image.Gray:
		for y := 0; y < h; y++ {
			o := m.PixOffset(b.Min.X, b.Min.Y+y)
			copy(gray[y*w:(y+1)*w], m.Pix[o:o+w])
		}
		return gray
	}
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			gray[i] = color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y
			i++
		}
	}
	return gray
}

// ---- PNG ----

var pngKeep = map[string]bool{"IHDR": true, "PLTE": true, "IDAT": true, "IEND": true, "tRNS": true, "gAMA": true,
	"cHRM": true, "sRGB": true, "iCCP": true, "sBIT": true, "bKGD": true, "pHYs": true}

// png rewrites a PNG chunk by chunk. A kept chunk that fits the read
// buffer is checked (CRC, IHDR limits) in place and written in one piece;
// a larger one (IDAT) is written in buffer-sized pieces while its CRC is
// computed, and checked at its end (on a mismatch the caller discards the
// partial output, as for every error).
func (h *Handler) png(ctx context.Context, dst io.Writer, r *bufio.Reader, size int64, o masking.Options) (masking.Result, error) {
	res := masking.Result{Format: "png", Ext: ".png"}
	sig, err := r.Peek(8)
	if err != nil {
		return res, masking.Quarantine("PNG structure is damaged")
	}
	needPixels := len(o.Boxes) > 0 || o.Faces
	var buf bytes.Buffer
	out := newOutput(dst, true)
	if needPixels {
		out = newOutput(&buf, false)
	}
	if _, err := out.Write(sig); err != nil {
		return res, err
	}
	r.Discard(8)
	dropped := 0
	for {
		hdr, err := r.Peek(8)
		if err != nil {
			return res, masking.Quarantine("PNG structure is damaged (no IEND)")
		}
		n := binary.BigEndian.Uint32(hdr[:4])
		if int64(n) > size {
			return res, masking.Quarantine("PNG chunk larger than the file")
		}
		typ := string(hdr[4:8])
		if !pngKeep[typ] {
			if k, _ := r.Discard(8 + int(n) + 4); k < 8+int(n)+4 {
				return res, masking.Quarantine("PNG structure is damaged")
			}
			dropped++
			continue
		}
		if 8+int(n)+4 <= r.Size() {
			c, err := r.Peek(8 + int(n) + 4)
			if err != nil {
				return res, masking.Quarantine("PNG structure is damaged")
			}
			data := c[8 : 8+n]
			if crc32.Update(crc32.ChecksumIEEE(c[4:8]), crc32.IEEETable, data) != binary.BigEndian.Uint32(c[8+n:]) {
				return res, masking.Quarantine("PNG chunk checksum mismatch")
			}
			if err := checkIHDR(typ, data, o); err != nil {
				return res, err
			}
			if typ == "IDAT" { // compressed image data, copied: not scanned (output)
				err = out.image(c, 8, 8+int(n))
			} else {
				_, err = out.Write(c)
			}
			if err != nil {
				return res, err
			}
			r.Discard(len(c))
		} else if err := copyChunk(out, r, typ, int(n), o); err != nil {
			return res, err
		}
		if typ == "IEND" {
			break
		}
	}
	res.Actions = append(res.Actions, fmt.Sprintf("png:chunks-removed:%d", dropped))
	if !needPixels {
		res.Actions = append(res.Actions, "png:lossless")
		return res, nil
	}
	pc, err := png.DecodeConfig(bytes.NewReader(buf.Bytes()))
	if err != nil {
		return res, masking.Quarantine("PNG cannot be decoded for masking")
	}
	release, err := h.pixels.acquire(ctx, int64(pc.Width)*int64(pc.Height))
	if err != nil {
		return res, err
	}
	defer release()
	img, err := png.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		return res, masking.Quarantine("PNG cannot be decoded for masking")
	}
	nr, eyes, err := h.mask(ctx, &img, o)
	if err != nil {
		return res, err
	}
	if nr == 0 {
		err := out.flushTo(dst, buf.Bytes())
		res.Actions = append(res.Actions, "png:lossless", "faces:0")
		return res, err
	}
	res.Actions = append(res.Actions, fmt.Sprintf("masked-regions:%d", nr), fmt.Sprintf("masked-eyes:%d", eyes))
	return res, png.Encode(dst, img)
}

// checkIHDR applies the header checks to an IHDR chunk's data.
func checkIHDR(typ string, data []byte, o masking.Options) error {
	if typ != "IHDR" {
		return nil
	}
	if len(data) < 8 {
		return masking.Quarantine("PNG header is damaged")
	}
	w, hgt := binary.BigEndian.Uint32(data[0:4]), binary.BigEndian.Uint32(data[4:8])
	if int64(w)*int64(hgt) > maxPixels(o) || w == 0 || hgt == 0 {
		return masking.Quarantine("image dimensions exceed limit (%dx%d)", w, hgt)
	}
	return nil
}

// copyChunk writes a kept chunk of n data bytes larger than r's buffer in
// pieces, computing its CRC on the way, then checks the CRC and (for an
// oversized IHDR) the header, as the in-place path does.
func copyChunk(w *output, r *bufio.Reader, typ string, n int, o masking.Options) error {
	hdr, _ := r.Peek(8)
	crc := crc32.ChecksumIEEE(hdr[4:8])
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	r.Discard(8)
	var head [8]byte // first data bytes, for checkIHDR
	nHead := 0
	for left := n; left > 0; {
		if r.Buffered() == 0 {
			r.Peek(1)
		}
		p, _ := r.Peek(min(left, r.Buffered()))
		if len(p) == 0 {
			return masking.Quarantine("PNG structure is damaged")
		}
		crc = crc32.Update(crc, crc32.IEEETable, p)
		nHead += copy(head[nHead:], p)
		to := 0
		if typ == "IDAT" {
			to = len(p) // compressed image data, copied: not scanned (output)
		}
		if err := w.image(p, 0, to); err != nil {
			return err
		}
		r.Discard(len(p))
		left -= len(p)
	}
	c, err := r.Peek(4)
	if err != nil {
		return masking.Quarantine("PNG structure is damaged")
	}
	if crc != binary.BigEndian.Uint32(c) {
		return masking.Quarantine("PNG chunk checksum mismatch")
	}
	if err := checkIHDR(typ, head[:nHead], o); err != nil {
		return err
	}
	_, err = w.Write(c)
	r.Discard(4)
	return err
}

// ---- TIFF, WebP: decode and re-encode ----

func (h *Handler) decoded(ctx context.Context, dst io.Writer, r *bufio.Reader, o masking.Options, format string) (masking.Result, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return masking.Result{}, err
	}
	var cfg image.Config
	if format == "tiff" {
		pages, bo, perr := tiffPages(data)
		if perr != nil {
			return masking.Result{}, masking.Quarantine("TIFF structure is damaged (image file directories)")
		}
		if len(pages) > 1 {
			return h.tiffMulti(ctx, dst, data, bo, pages, o)
		}
		cfg, err = tiff.DecodeConfig(bytes.NewReader(data))
	} else {
		cfg, err = webp.DecodeConfig(bytes.NewReader(data))
	}
	if err != nil {
		return masking.Result{}, masking.Quarantine("%s header cannot be read", format)
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxPixels(o) {
		return masking.Result{}, masking.Quarantine("image dimensions exceed limit (%dx%d)", cfg.Width, cfg.Height)
	}
	release, err := h.pixels.acquire(ctx, int64(cfg.Width)*int64(cfg.Height))
	if err != nil {
		return masking.Result{}, err
	}
	defer release()
	var img image.Image
	if format == "tiff" {
		img, err = tiff.Decode(bytes.NewReader(data))
	} else {
		img, err = webp.Decode(bytes.NewReader(data))
	}
	if err != nil {
		return masking.Result{}, masking.Quarantine("%s cannot be decoded", format)
	}
	n, eyes, err := h.mask(ctx, &img, o)
	if err != nil {
		return masking.Result{}, err
	}
	res := masking.Result{Actions: []string{format + ":re-encoded", fmt.Sprintf("masked-regions:%d", n), fmt.Sprintf("masked-eyes:%d", eyes)}}
	if format == "tiff" {
		res.Format, res.Ext = "tiff", ".tif"
		return res, tiff.Encode(dst, img, &tiff.Options{Compression: tiff.Deflate})
	}
	res.Format, res.Ext = "png", ".png"
	return res, png.Encode(dst, img)
}

// tiffMulti masks every page of a multi-page TIFF and writes them all
// again (lossless, only the tags describing the pixels).
func (h *Handler) tiffMulti(ctx context.Context, dst io.Writer, data []byte, bo binary.ByteOrder, pages []uint32, o masking.Options) (masking.Result, error) {
	var total int64
	for _, off := range pages {
		first := bo.Uint32(data[4:8])
		bo.PutUint32(data[4:8], off)
		cfg, err := tiff.DecodeConfig(bytes.NewReader(data))
		bo.PutUint32(data[4:8], first)
		if err != nil {
			return masking.Result{}, masking.Quarantine("TIFF page header cannot be read")
		}
		total += int64(cfg.Width) * int64(cfg.Height)
		if total > maxPixels(o) {
			return masking.Result{}, masking.Quarantine("TIFF pages exceed the pixel limit (%d pages)", len(pages))
		}
	}
	release, err := h.pixels.acquire(ctx, total)
	if err != nil {
		return masking.Result{}, err
	}
	defer release()
	var imgs []image.Image
	regions, eyes := 0, 0
	for _, off := range pages {
		img, err := decodeTIFFPage(data, bo, off)
		if err != nil {
			return masking.Result{}, masking.Quarantine("TIFF page cannot be decoded")
		}
		n, e, err := h.mask(ctx, &img, o)
		if err != nil {
			return masking.Result{}, err
		}
		regions, eyes = regions+n, eyes+e
		imgs = append(imgs, img)
	}
	res := masking.Result{Format: "tiff", Ext: ".tif", Actions: []string{"tiff:re-encoded", fmt.Sprintf("tiff:pages:%d", len(imgs)), fmt.Sprintf("masked-regions:%d", regions), fmt.Sprintf("masked-eyes:%d", eyes)}}
	return res, writeTIFFPages(dst, imgs)
}

var _ = errors.New

// faceMinQ is the pigo score below which a detection is not taken for a
// face. Low-confidence detections are masked anyway (fail closed): on the
// labeled set (faceeval_internal_test.go) a score of 1 finds the
// half-covered face that 2 to 5 miss, for one false face in five
// face-free photos.
var faceMinQ float32 = 1
