package photo

import (
	"bufio"
	"bytes"
	"context"
	_ "embed"
	"encoding/binary"
	"io"
	"sync"

	pigo "github.com/esimov/pigo/core"

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
	// ProfileMinSize is the width, in pixels of the photo, of the
	// smallest face in profile that must be found (0: 32; the window is
	// 20x34 at the cascade's own size, so a 32 px wide profile is about 54
	// px high). Each step down costs much more than it finds: on a 2 MP
	// photo the profile pass takes about 0.55 of the frontal pass's CPU
	// at 32, 1.1 at 24 (BenchmarkVisibleContent2MP).
	ProfileMinSize int
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
	// profile: the LBP profile cascade and its mirror (faces turned
	// either way).
	profile [2]*lbpCascade
	// readers (*bufio.Reader of bufSize bytes), buffers (*bytes.Buffer
	// for kept JPEG header segments), offsets (*[]int32, the cascade's
	// node offsets) and grays (*[]uint8, a photo's luma) are reused from
	// file to file.
	readers, buffers, offsets, grays sync.Pool
	integrals                        sync.Pool // *[]uint32, the profile pass's integral image
}

// mustEmbed panics when parsing the embedded cascade name failed (err):
// the binary is broken.
func mustEmbed(name string, err error) {
	if err != nil {
		panic("photo: embedded " + name + ": " + err.Error())
	}
}

// New returns a Handler.
func New(cfg Config) *Handler {
	p, err := pigo.NewPigo().Unpack(facefinder)
	mustEmbed("cascade", err)
	c, err := parseCascade(facefinder)
	mustEmbed("cascade", err)
	e, err := pigo.NewPuplocCascade().UnpackCascade(puploc)
	mustEmbed("puploc cascade", err)
	pc, err := parseLBP(lbpProfileXML)
	mustEmbed("profile cascade", err)
	if cfg.FaceMaxSide <= 0 {
		cfg.FaceMaxSide = 2048
	}
	if cfg.FaceMinSize <= 0 {
		cfg.FaceMinSize = 24
	}
	if cfg.ProfileMinSize <= 0 {
		cfg.ProfileMinSize = 32
	}
	if cfg.MaxDecodedPixels <= 0 {
		cfg.MaxDecodedPixels = 32 << 20
	}
	return &Handler{cfg: cfg, pixels: newBudget(cfg.MaxDecodedPixels), face: p, faceC: c, eyes: e,
		profile: [2]*lbpCascade{pc, pc.mirrored()}}
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
// isBMP reports a Windows bitmap: "BM" and a known DIB header size.
func isBMP(head []byte) bool {
	if len(head) < 18 || head[0] != 'B' || head[1] != 'M' {
		return false
	}
	switch binary.LittleEndian.Uint32(head[14:18]) {
	case 12, 40, 52, 56, 64, 108, 124:
		return true
	}
	return false
}

// isJXL reports a JPEG XL codestream or container.
func isJXL(head []byte) bool {
	return bytes.HasPrefix(head, []byte{0xFF, 0x0A}) || bytes.HasPrefix(head, []byte("\x00\x00\x00\x0cJXL \r\n\x87\n"))
}

// heifBrands are the ISO BMFF major brands of HEIF, HEIC and AVIF files.
var heifBrands = map[string]bool{"heic": true, "heix": true, "hevc": true, "hevx": true, "heim": true, "heis": true,
	"mif1": true, "msf1": true, "avif": true, "avis": true}

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
		return h.decoded(ctx, dst, br, o, "bmp")
	case "gif":
		return h.gif(ctx, dst, br, o)
	case "jxl":
		return h.jxl(ctx, dst, br, o)
	}
	return masking.Result{}, masking.Quarantine("unsupported photo type")
}

// readWhole reads the rest of a file that its decoder needs whole; an
// empty one is quarantined naming the format.
func readWhole(r io.Reader, format string) ([]byte, error) {
	data, err := io.ReadAll(r)
	if err == nil && len(data) == 0 {
		err = masking.Quarantine("%s file is empty", format)
	}
	return data, err
}
