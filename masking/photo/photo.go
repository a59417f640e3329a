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
type Config struct{}

// Handler de-identifies photos. It is safe for concurrent use.
type Handler struct {
	cfg  Config
	face *pigo.Pigo
	eyes *pigo.PuplocCascade
}

// New returns a Handler.
func New(cfg Config) *Handler {
	p, err := pigo.NewPigo().Unpack(facefinder)
	if err != nil {
		panic("photo: embedded cascade: " + err.Error())
	}
	e, err := pigo.NewPuplocCascade().UnpackCascade(puploc)
	if err != nil {
		panic("photo: embedded puploc cascade: " + err.Error())
	}
	return &Handler{cfg: cfg, face: p, eyes: e}
}

var _ masking.Handler = (*Handler)(nil)

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
	case len(head) >= 12 && string(head[4:8]) == "ftyp" && (string(head[8:12]) == "heic" || string(head[8:12]) == "heix" || string(head[8:12]) == "mif1" || string(head[8:12]) == "avif"):
		return "heic"
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
	br := bufio.NewReaderSize(io.LimitReader(src, size), 64<<10)
	head, _ := br.Peek(16)
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
		return masking.Result{}, masking.Quarantine("HEIC/AVIF photo: no decoder available; convert to JPEG before upload")
	}
	return masking.Result{}, masking.Quarantine("unsupported photo type")
}

// ---- JPEG ----

type segment struct {
	marker byte
	data   []byte // payload without the length bytes
}

var errBadJPEG = masking.Quarantine("JPEG structure is damaged")

func readSegment(r *bufio.Reader) (segment, error) {
	var b [4]byte
	if _, err := io.ReadFull(r, b[:2]); err != nil {
		return segment{}, errBadJPEG
	}
	for b[0] == 0xFF && b[1] == 0xFF { // fill bytes
		b[1], _ = r.ReadByte()
	}
	if b[0] != 0xFF {
		return segment{}, errBadJPEG
	}
	m := b[1]
	if m == 0xD8 || m == 0xD9 || (m >= 0xD0 && m <= 0xD7) || m == 0x01 {
		return segment{marker: m}, nil
	}
	if _, err := io.ReadFull(r, b[2:4]); err != nil {
		return segment{}, errBadJPEG
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n < 2 {
		return segment{}, errBadJPEG
	}
	data := make([]byte, n-2)
	if _, err := io.ReadFull(r, data); err != nil {
		return segment{}, errBadJPEG
	}
	return segment{marker: m, data: data}, nil
}

func writeSegment(w io.Writer, s segment) error {
	if s.data == nil && (s.marker == 0xD8 || s.marker == 0xD9 || (s.marker >= 0xD0 && s.marker <= 0xD7)) {
		_, err := w.Write([]byte{0xFF, s.marker})
		return err
	}
	h := []byte{0xFF, s.marker, 0, 0}
	binary.BigEndian.PutUint16(h[2:], uint16(len(s.data)+2))
	if _, err := w.Write(h); err != nil {
		return err
	}
	_, err := w.Write(s.data)
	return err
}

// keepSegment decides which header segments survive.
func keepSegment(s segment) bool {
	m := s.marker
	switch {
	case m == 0xE0: // APP0: JFIF/JFXX; JFXX may carry a thumbnail: keep JFIF only
		return bytes.HasPrefix(s.data, []byte("JFIF\x00"))
	case m == 0xE2:
		return bytes.HasPrefix(s.data, []byte("ICC_PROFILE\x00"))
	case m == 0xEE: // Adobe: colour transform, no text
		return bytes.HasPrefix(s.data, []byte("Adobe"))
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

func (h *Handler) jpeg(ctx context.Context, dst io.Writer, r *bufio.Reader, size int64, o masking.Options) (masking.Result, error) {
	res := masking.Result{Format: "jpeg", Ext: ".jpg"}
	first, err := readSegment(r)
	if err != nil || first.marker != 0xD8 {
		return res, errBadJPEG
	}
	var header []segment
	var icc [][]byte
	orientation := 1
	var w, hgt int
	dropped := 0
	for {
		s, err := readSegment(r)
		if err != nil {
			return res, err
		}
		if s.marker == 0xE1 {
			if v := exifOrientation(s.data); v != 1 {
				orientation = v
			}
		}
		if isSOF(s.marker) && len(s.data) >= 5 {
			hgt = int(binary.BigEndian.Uint16(s.data[1:3]))
			w = int(binary.BigEndian.Uint16(s.data[3:5]))
			if int64(w)*int64(hgt) > maxPixels(o) || w == 0 {
				return res, masking.Quarantine("image dimensions exceed limit (%dx%d)", w, hgt)
			}
		}
		if s.marker == 0xE2 && bytes.HasPrefix(s.data, []byte("ICC_PROFILE\x00")) {
			icc = append(icc, s.data)
		}
		if !keepSegment(s) {
			dropped++
			continue
		}
		header = append(header, s)
		if s.marker == 0xDA { // SOS: entropy-coded data follows
			break
		}
		if s.marker == 0xD9 {
			return res, errBadJPEG
		}
	}
	if w == 0 {
		return res, errBadJPEG
	}
	res.Actions = append(res.Actions, fmt.Sprintf("jpeg:segments-removed:%d", dropped))
	// Copy the scans, dropping APP/COM segments between scans and any
	// trailer after EOI.
	var body bytes.Buffer
	needPixels := orientation != 1 || len(o.Boxes) > 0 || o.Faces
	var out io.Writer = dst
	if needPixels {
		out = &body
	}
	if _, err := out.Write([]byte{0xFF, 0xD8}); err != nil {
		return res, err
	}
	for _, s := range header {
		if err := writeSegment(out, s); err != nil {
			return res, err
		}
	}
	if err := copyScans(out, r); err != nil {
		return res, err
	}
	if !needPixels {
		res.Actions = append(res.Actions, "jpeg:lossless")
		return res, nil
	}
	img, err := jpeg.Decode(bytes.NewReader(body.Bytes()))
	if err != nil {
		return res, masking.Quarantine("JPEG cannot be decoded for masking")
	}
	img = orient(img, orientation)
	if orientation != 1 {
		res.Actions = append(res.Actions, fmt.Sprintf("orientation:%d-baked", orientation))
	}
	n, eyes, err := h.mask(ctx, &img, o)
	if err != nil {
		return res, err
	}
	if n == 0 && orientation == 1 {
		// Nothing to change: the lossless copy stands.
		_, err := dst.Write(body.Bytes())
		res.Actions = append(res.Actions, "jpeg:lossless", "faces:0")
		return res, err
	}
	res.Actions = append(res.Actions, fmt.Sprintf("masked-regions:%d", n), fmt.Sprintf("masked-eyes:%d", eyes))
	return res, encodeJPEG(dst, img, icc)
}

// copyScans copies entropy-coded data and the segments between scans until
// EOI, which it writes; bytes after EOI are dropped.
func copyScans(w io.Writer, r *bufio.Reader) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	for {
		b, err := r.ReadByte()
		if err != nil {
			return errBadJPEG // no EOI
		}
		if b != 0xFF {
			bw.WriteByte(b)
			continue
		}
		m, err := r.ReadByte()
		if err != nil {
			return errBadJPEG
		}
		for m == 0xFF {
			m, err = r.ReadByte()
			if err != nil {
				return errBadJPEG
			}
		}
		switch {
		case m == 0x00 || (m >= 0xD0 && m <= 0xD7):
			bw.WriteByte(0xFF)
			bw.WriteByte(m)
		case m == 0xD9:
			bw.Write([]byte{0xFF, 0xD9})
			return bw.Flush()
		default:
			r.UnreadByte() // back on the marker byte
			s, err := readSegmentAfterFF(r, m)
			if err != nil {
				return err
			}
			if keepSegment(s) {
				if err := writeSegment(bw, s); err != nil {
					return err
				}
			}
		}
	}
}

func readSegmentAfterFF(r *bufio.Reader, m byte) (segment, error) {
	// The reader is positioned on m (UnreadByte restored one byte).
	if b, err := r.ReadByte(); err != nil || b != m {
		return segment{}, errBadJPEG
	}
	var l [2]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return segment{}, errBadJPEG
	}
	n := int(binary.BigEndian.Uint16(l[:]))
	if n < 2 {
		return segment{}, errBadJPEG
	}
	data := make([]byte, n-2)
	if _, err := io.ReadFull(r, data); err != nil {
		return segment{}, errBadJPEG
	}
	return segment{marker: m, data: data}, nil
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
	if _, err := w.Write(b[:2]); err != nil {
		return err
	}
	for _, p := range icc {
		if err := writeSegment(w, segment{marker: 0xE2, data: p}); err != nil {
			return err
		}
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
		faces, eyes := h.faces(*img)
		boxes = append(boxes, faces...)
		nEyes = len(eyes)
		boxes = append(boxes, eyes...)
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
	b := img.Bounds()
	gray := make([]uint8, b.Dx()*b.Dy())
	i := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			gray[i] = color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y
			i++
		}
	}
	minDim := b.Dx()
	if b.Dy() < minDim {
		minDim = b.Dy()
	}
	ip := pigo.ImageParams{Pixels: gray, Rows: b.Dy(), Cols: b.Dx(), Dim: b.Dx()}
	params := pigo.CascadeParams{MinSize: 20, MaxSize: minDim, ShiftFactor: 0.1, ScaleFactor: 1.1, ImageParams: ip}
	dets := h.face.RunCascade(params, 0)
	dets = h.face.ClusterDetections(dets, 0.2)
	for _, d := range dets {
		if d.Q < 5 {
			continue
		}
		half := d.Scale * 5 / 8
		face := image.Rect(b.Min.X+d.Col-half, b.Min.Y+d.Row-half, b.Min.X+d.Col+half, b.Min.Y+d.Row+half)
		faces = append(faces, face)
		for _, side := range []float32{-0.185, 0.185} {
			pl := h.eyes.RunDetector(pigo.Puploc{
				Row: d.Row - int(0.085*float32(d.Scale)), Col: d.Col + int(side*float32(d.Scale)),
				Scale: float32(d.Scale) * 0.4, Perturbs: 50,
			}, ip, 0, false)
			if pl.Row <= 0 || pl.Col <= 0 {
				continue
			}
			r := int(float32(d.Scale) * 0.12) // eye half-size around the pupil
			eye := image.Rect(b.Min.X+pl.Col-r, b.Min.Y+pl.Row-r, b.Min.X+pl.Col+r, b.Min.Y+pl.Row+r).Intersect(face)
			if !eye.Empty() {
				eyes = append(eyes, eye)
			}
		}
	}
	return faces, eyes
}

// ---- PNG ----

var pngKeep = map[string]bool{"IHDR": true, "PLTE": true, "IDAT": true, "IEND": true, "tRNS": true, "gAMA": true,
	"cHRM": true, "sRGB": true, "iCCP": true, "sBIT": true, "bKGD": true, "pHYs": true}

func (h *Handler) png(ctx context.Context, dst io.Writer, r *bufio.Reader, size int64, o masking.Options) (masking.Result, error) {
	res := masking.Result{Format: "png", Ext: ".png"}
	sig := make([]byte, 8)
	if _, err := io.ReadFull(r, sig); err != nil {
		return res, masking.Quarantine("PNG structure is damaged")
	}
	needPixels := len(o.Boxes) > 0 || o.Faces
	var buf bytes.Buffer
	var out io.Writer = dst
	if needPixels {
		out = &buf
	}
	out.Write(sig)
	dropped := 0
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return res, masking.Quarantine("PNG structure is damaged (no IEND)")
		}
		n := binary.BigEndian.Uint32(hdr[:4])
		typ := string(hdr[4:8])
		if int64(n) > size {
			return res, masking.Quarantine("PNG chunk larger than the file")
		}
		if typ == "IHDR" && n >= 8 {
			// handled below after reading
		}
		keep := pngKeep[typ]
		var crc [4]byte
		if !keep {
			if _, err := io.CopyN(io.Discard, r, int64(n)+4); err != nil {
				return res, masking.Quarantine("PNG structure is damaged")
			}
			dropped++
			continue
		}
		data := make([]byte, n)
		if _, err := io.ReadFull(r, data); err != nil {
			return res, masking.Quarantine("PNG structure is damaged")
		}
		if _, err := io.ReadFull(r, crc[:]); err != nil {
			return res, masking.Quarantine("PNG structure is damaged")
		}
		if crc32.Update(crc32.ChecksumIEEE(hdr[4:8]), crc32.IEEETable, data) != binary.BigEndian.Uint32(crc[:]) {
			return res, masking.Quarantine("PNG chunk checksum mismatch")
		}
		if typ == "IHDR" {
			if n < 8 {
				return res, masking.Quarantine("PNG header is damaged")
			}
			w, hgt := binary.BigEndian.Uint32(data[0:4]), binary.BigEndian.Uint32(data[4:8])
			if int64(w)*int64(hgt) > maxPixels(o) || w == 0 || hgt == 0 {
				return res, masking.Quarantine("image dimensions exceed limit (%dx%d)", w, hgt)
			}
		}
		out.Write(hdr[:])
		out.Write(data)
		if _, err := out.Write(crc[:]); err != nil {
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
	img, err := png.Decode(bytes.NewReader(buf.Bytes()))
	if err != nil {
		return res, masking.Quarantine("PNG cannot be decoded for masking")
	}
	n, eyes, err := h.mask(ctx, &img, o)
	if err != nil {
		return res, err
	}
	if n == 0 {
		_, err := dst.Write(buf.Bytes())
		res.Actions = append(res.Actions, "png:lossless", "faces:0")
		return res, err
	}
	res.Actions = append(res.Actions, fmt.Sprintf("masked-regions:%d", n), fmt.Sprintf("masked-eyes:%d", eyes))
	return res, png.Encode(dst, img)
}

// ---- TIFF, WebP: decode and re-encode ----

func (h *Handler) decoded(ctx context.Context, dst io.Writer, r *bufio.Reader, o masking.Options, format string) (masking.Result, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return masking.Result{}, err
	}
	var cfg image.Config
	if format == "tiff" {
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

var _ = errors.New
