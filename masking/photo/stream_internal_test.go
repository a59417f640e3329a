package photo

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"testing"
	"testing/iotest"

	"hdw/masking"
	"hdw/synth"
)

// chunkReader returns its data in reads of pseudo-random lengths (1 to
// max bytes), so that buffer refills fall everywhere.
type chunkReader struct {
	b   []byte
	r   *rand.Rand
	max int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), len(c.b), 1+c.r.IntN(c.max))
	copy(p, c.b[:n])
	c.b = c.b[n:]
	return n, nil
}

// The outputs of the streaming JPEG and PNG rewriters on the inputs of
// TestStreamGolden were checked equal (bytes, errors, results) to those of
// the rewriters before the streaming rewrite (commit f634c16, the
// reference of the differential tests until the reference copy was
// removed); testdata/stream-golden.txt keeps them as digests, so that any
// later change of the bytes written shows. -update-stream rewrites it.
var updateStream = flag.Bool("update-stream", false, "rewrite testdata/stream-golden.txt")

const streamGolden = "testdata/stream-golden.txt"

// streamRun de-identifies in with every read size and returns one golden
// line (output digest, error, result), failing when the read sizes do not
// agree.
func streamRun(t *testing.T, h *Handler, in []byte, o masking.Options) string {
	t.Helper()
	readers := []struct {
		name string
		r    io.Reader
	}{
		{"whole", bytes.NewReader(in)},
		{"one-byte", iotest.OneByteReader(bytes.NewReader(in))},
		{"chunks", &chunkReader{b: in, r: rand.New(rand.NewPCG(uint64(len(in)), 1)), max: 70000}},
		{"small", &chunkReader{b: in, r: rand.New(rand.NewPCG(uint64(len(in)), 2)), max: 7}},
	}
	var first string
	for _, rd := range readers {
		var got bytes.Buffer
		res, err := h.Deidentify(context.Background(), &got, rd.r, int64(len(in)), masking.Person{}, o)
		line := fmt.Sprintf("err=%v", err)
		if err == nil {
			line = fmt.Sprintf("out=%x res=%v", sha256.Sum256(got.Bytes()), res)
		}
		if first == "" {
			first = line
		} else if line != first {
			t.Fatalf("%s reads: %s\nwhole reads: %s", rd.name, line, first)
		}
	}
	return first
}

// goldenSet collects the lines of one run and compares them with the file.
type goldenSet struct {
	t    *testing.T
	want map[string]string
	got  map[string]string
}

func newGoldenSet(t *testing.T) *goldenSet {
	g := &goldenSet{t: t, want: map[string]string{}, got: map[string]string{}}
	if b, err := os.ReadFile(streamGolden); err == nil {
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if k, v, ok := strings.Cut(l, "\t"); ok {
				g.want[k] = v
			}
		}
	} else if !*updateStream {
		t.Fatalf("%v (go test -run TestStreamGolden -update-stream writes it)", err)
	}
	return g
}

func (g *goldenSet) check(name string, h *Handler, in []byte, o masking.Options) {
	g.t.Helper()
	line := streamRun(g.t, h, in, o)
	g.got[name] = line
	if !*updateStream && g.want[name] != line {
		g.t.Errorf("%s: %s\ngolden: %s", name, line, g.want[name])
	}
}

func (g *goldenSet) finish() {
	if !*updateStream {
		if len(g.got) != len(g.want) {
			g.t.Errorf("%d inputs checked, %d in %s", len(g.got), len(g.want), streamGolden)
		}
		return
	}
	keys := make([]string, 0, len(g.got))
	for k := range g.got {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s\t%s\n", k, g.got[k])
	}
	if err := os.MkdirAll("testdata", 0o755); err != nil {
		g.t.Fatal(err)
	}
	if err := os.WriteFile(streamGolden, []byte(b.String()), 0o644); err != nil {
		g.t.Fatal(err)
	}
}

func streamPerson() synth.Person {
	return synth.Person{LastName: "Lefèvre", FirstName: "Zélie", Address: "12 rue des Lilas", Phone: "06 12 34 56 78",
		City: "Lyon", BirthDate: "1962-04-30", PPI: "PPI0001234"}
}

// seg frames a marker segment.
func seg(m byte, payload string) []byte {
	return append([]byte{0xFF, m, byte((len(payload) + 2) >> 8), byte(len(payload) + 2)}, payload...)
}

// oddJPEGs returns JPEGs with the structures the fast path must leave to
// the slow path: fill bytes, segments between scans, RSTn, TEM, a header
// EOI, a short length, truncations.
func oddJPEGs(t *testing.T) map[string][]byte {
	t.Helper()
	p := streamPerson()
	var base bytes.Buffer
	if err := synth.JPEG(&base, synth.PhotoSpec{Person: p, W: 40, H: 24}); err != nil {
		t.Fatal(err)
	}
	b := base.Bytes()
	eoi := bytes.LastIndex(b, []byte{0xFF, 0xD9})
	sos := bytes.Index(b, []byte{0xFF, 0xDA})
	scan := sos + 2 + int(b[sos+2])<<8 | int(b[sos+3])
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	out := map[string][]byte{
		"plain":             b,
		"fill-before-eoi":   cat(b[:eoi], []byte{0xFF, 0xFF, 0xFF}, b[eoi:]),
		"fill-before-00":    cat(b[:scan+10], []byte{0xFF, 0xFF, 0xFF, 0x00}, b[scan+10:]),
		"fill-before-rst":   cat(b[:scan+10], []byte{0xFF, 0xFF, 0xD3}, b[scan+10:]),
		"rst-in-scan":       cat(b[:scan+10], []byte{0xFF, 0xD0, 0x12, 0xFF, 0xD7}, b[scan+10:]),
		"segments-in-scan":  cat(b[:scan+5], seg(0xFE, "COMMENT Lefèvre"), seg(0xE1, "Exif\x00\x00junk"), seg(0xC4, "\x00dht"), seg(0xE2, "ICC_PROFILE\x00\x01\x01x"), []byte{0xFF, 0xFF}, seg(0xEB, "X"), b[scan+5:]),
		"sof-between-scans": cat(b[:scan+5], seg(0xD8, ""), seg(0x01, "t"), b[scan+5:]),
		"short-length":      cat(b[:scan+5], []byte{0xFF, 0xE1, 0x00, 0x01}, b[scan+5:]),
		"no-eoi":            b[:eoi],
		"ff-last":           cat(b[:eoi], []byte{0xFF}),
		"trailer-only-ff":   cat(b[:eoi+2], bytes.Repeat([]byte{0xFF}, 5)),
		"header-eoi":        cat(b[:2], []byte{0xFF, 0xD9}, b[2:]),
		"header-tem-rst":    cat(b[:2], []byte{0xFF, 0x01, 0xFF, 0xD4}, b[2:]),
		"header-fill":       cat(b[:2], []byte{0xFF, 0xFF, 0xFF}, b[3:]),
		"header-short":      cat(b[:2], []byte{0xFF, 0xE1, 0x00, 0x00}, b[2:]),
		"header-huge":       cat(b[:2], []byte{0xFF, 0xE1, 0xFF, 0xFF}, b[2:]),
	}
	var ffs bytes.Buffer // a scan of 0xFF 0x00 pairs: spans cross buffers on stuffed bytes
	ffs.Write(b[:scan])
	for ffs.Len() < 3*bufSize+1 {
		ffs.Write([]byte{0xFF, 0x00, 0x11})
	}
	ffs.Write([]byte{0xFF, 0xD9})
	out["stuffed-across-buffers"] = ffs.Bytes()
	return out
}

// TestStreamGolden: the streaming JPEG and PNG rewriters write the bytes
// (and fail the way) testdata/stream-golden.txt records, the outputs of
// the pre-streaming reference rewriters, on camera-like photos larger than
// the read buffer, odd structures, orientations (pixel path), every
// truncation of a small file, and under any read size.
func TestStreamGolden(t *testing.T) {
	h := New(Config{})
	g := newGoldenSet(t)
	defer g.finish()
	p := streamPerson()
	for name, in := range oddJPEGs(t) {
		g.check("odd/"+name, h, in, masking.Options{})
	}
	for _, tc := range []struct {
		name string
		spec synth.PhotoSpec
	}{
		{"camera-2mp", synth.PhotoSpec{Person: p, W: 1632, H: 1224, Camera: true}},
		{"camera-small-orientation-6", synth.PhotoSpec{Person: p, W: 96, H: 64, Camera: true, Orientation: 6}},
		{"flat-orientation-3", synth.PhotoSpec{Person: p, W: 64, H: 48, Orientation: 3}},
	} {
		var b bytes.Buffer
		if err := synth.JPEG(&b, tc.spec); err != nil {
			t.Fatal(err)
		}
		g.check(tc.name, h, b.Bytes(), masking.Options{})
		if tc.spec.W < 100 {
			g.check(tc.name+"/boxes", h, b.Bytes(), masking.Options{Boxes: []masking.Box{{X0: 1, Y0: 2, X1: 30, Y1: 20}}})
		}
	}
	var pn bytes.Buffer
	if err := synth.TextPNG(&pn, p, 300, 200); err != nil {
		t.Fatal(err)
	}
	g.check("png", h, pn.Bytes(), masking.Options{})
	g.check("png/boxes", h, pn.Bytes(), masking.Options{Boxes: []masking.Box{{X0: 1, Y0: 2, X1: 30, Y1: 20}}})
	big := bigIDATPNG(t, 400, 300)
	g.check("png-one-big-idat", h, big, masking.Options{})
	bad := bytes.Clone(big)
	bad[len(bad)-20]++ // inside the IDAT data: CRC mismatch
	g.check("png-one-big-idat/crc", h, bad, masking.Options{})
	g.check("png-one-big-idat/truncated", h, big[:len(big)-100], masking.Options{})
	var j, gp bytes.Buffer
	synth.JPEG(&j, synth.PhotoSpec{Person: p, W: 16, H: 16})
	synth.TextPNG(&gp, p, 8, 8)
	for k, in := range [][]byte{j.Bytes(), gp.Bytes()} {
		for n := 1; n < len(in); n++ {
			g.check(fmt.Sprintf("truncated/%d/%05d", k, n), h, in[:n], masking.Options{})
		}
	}
}

// bigIDATPNG returns a w x h RGB noise PNG whose pixels are in one IDAT
// chunk larger than the read buffer, with a tEXt chunk before it.
func bigIDATPNG(t *testing.T, w, h int) []byte {
	t.Helper()
	chunk := func(typ string, data []byte) []byte {
		c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
		c = append(append(c, typ...), data...)
		return binary.BigEndian.AppendUint32(c, crc32.Update(crc32.ChecksumIEEE([]byte(typ)), crc32.IEEETable, data))
	}
	r := rand.New(rand.NewPCG(3, 4))
	var raw bytes.Buffer
	for y := 0; y < h; y++ {
		raw.WriteByte(0) // filter: none
		for x := 0; x < 3*w; x++ {
			raw.WriteByte(byte(r.Uint32()))
		}
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(raw.Bytes())
	zw.Close()
	if z.Len() <= bufSize {
		t.Fatalf("IDAT of %d bytes fits the buffer", z.Len())
	}
	ihdr := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, uint32(w)), uint32(h))
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	return bytes.Join([][]byte{[]byte("\x89PNG\r\n\x1a\n"), chunk("IHDR", ihdr), chunk("tEXt", []byte("Author\x00Zélie Lefèvre")),
		chunk("IDAT", z.Bytes()), chunk("IEND", nil)}, nil)
}

// FuzzStreamReadSizes: on any input the streaming rewriters write the same
// bytes and fail the same way whatever the read sizes.
func FuzzStreamReadSizes(f *testing.F) {
	p := streamPerson()
	var j, g bytes.Buffer
	synth.JPEG(&j, synth.PhotoSpec{Person: p, W: 16, H: 16, Orientation: 3})
	synth.TextPNG(&g, p, 8, 8)
	f.Add(j.Bytes())
	f.Add(g.Bytes())
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 0x01, 0x00, 0x01, 0x01, 0x01, 0x11, 0x00, 0xFF, 0xDA, 0x00, 0x02, 0xFF, 0xFF, 0x00, 0xFF, 0xD9})
	h := New(Config{})
	f.Fuzz(func(t *testing.T, in []byte) {
		streamRun(t, h, in, masking.Options{})
	})
}
