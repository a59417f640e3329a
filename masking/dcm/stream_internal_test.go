package dcm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"hdw/masking"
	"hdw/synth"
)

func streamOpts() masking.Options {
	return masking.Options{UIDs: func(u string) string {
		s := sha256.Sum256([]byte(u))
		return fmt.Sprintf("2.25.%d", binary.BigEndian.Uint64(s[:8]))
	}}
}

func streamPerson() masking.Person {
	return masking.Person{Pseudonym: "PSEUDO7Q2X", DateShiftDays: -37}
}

// withHead runs f with streamHead set to n.
func withHead(n int, f func()) {
	old := streamHead
	streamHead = n
	defer func() { streamHead = old }()
	f()
}

func deidentifyBytes(in []byte, o masking.Options) ([]byte, masking.Result, error) {
	out, res, _, err := deidentifyRead(in, o)
	return out, res, err
}

// readCounter counts the bytes read from r.
type readCounter struct {
	r io.Reader
	n int64
}

func (c *readCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// firstWrite records how much of the source was read when the output got
// its first byte.
type firstWrite struct {
	bytes.Buffer
	src    *readCounter
	readAt int64
}

func (w *firstWrite) Write(p []byte) (int, error) {
	if w.Len() == 0 && len(p) > 0 {
		w.readAt = w.src.n
	}
	return w.Buffer.Write(p)
}

// deidentifyRead also returns how many input bytes had been read when the
// first output byte was written: less than the file means it was streamed.
func deidentifyRead(in []byte, o masking.Options) ([]byte, masking.Result, int64, error) {
	src := &readCounter{r: bytes.NewReader(in)}
	out := &firstWrite{src: src}
	res, err := New(Config{}).Deidentify(context.Background(), out, src, int64(len(in)), streamPerson(), o)
	return out.Bytes(), res, out.readAt, err
}

// TestStreamSameAsWhole: a file streamed (first read of 16 KiB, or a head too
// short for its elements that grows) gives byte for byte the output of the
// same file read whole, for the native syntaxes the synthetic generator writes
// and for the files that fall back to a whole read (pixels to mask).
func TestStreamSameAsWhole(t *testing.T) {
	cases := []struct {
		name string
		spec synth.DICOMSpec
		mod  func(*masking.Options)
	}{
		{"ct-explicit-le", synth.DICOMSpec{Modality: "CT", Rows: 512, Cols: 512, Marker: "ZORGLUBMARK"}, nil},
		{"ct-implicit-le", synth.DICOMSpec{Modality: "CT", Rows: 256, Cols: 256, Frames: 3, TransferSyntax: synth.ImplicitVRLittleEndian, Marker: "ZORGLUBMARK"}, nil},
		{"mr-8bit-odd", synth.DICOMSpec{Modality: "MR", Rows: 255, Cols: 257, BitsAllocated: 8, Marker: "ZORGLUBMARK"}, nil},
		{"us-masked-fallback", synth.DICOMSpec{Modality: "US", Rows: 480, Cols: 640, Frames: 2, PlantText: true, Marker: "ZORGLUBMARK"},
			func(o *masking.Options) { o.Boxes = []masking.Box{{X1: 640, Y1: 60}} }},
		{"us-unmasked-quarantined", synth.DICOMSpec{Modality: "US", Rows: 480, Cols: 640, PlantText: true}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := genFile(t, c.spec)
			o := streamOpts()
			if c.mod != nil {
				c.mod(&o)
			}
			var whole, streamed, grown []byte
			var errW, errS, errG error
			withHead(len(in)+1, func() { whole, _, errW = deidentifyBytes(in, o) })
			var readAt int64
			withHead(64<<10, func() { streamed, _, readAt, errS = deidentifyRead(in, o) })
			if c.mod == nil && errS == nil && readAt >= int64(len(in)) {
				t.Errorf("file of %d bytes read whole before output: not streamed", len(in))
			}
			withHead(200, func() { grown, _, errG = deidentifyBytes(in, o) })
			if fmt.Sprint(errW) != fmt.Sprint(errS) || fmt.Sprint(errW) != fmt.Sprint(errG) {
				t.Fatalf("errors differ: whole %v, streamed %v, grown head %v", errW, errS, errG)
			}
			if !bytes.Equal(whole, streamed) || !bytes.Equal(whole, grown) {
				t.Fatalf("outputs differ: whole %d bytes, streamed %d, grown head %d", len(whole), len(streamed), len(grown))
			}
			if errW == nil && bytes.Contains(whole, []byte("ZORGLUBMARK")) {
				t.Fatal("marker left in output")
			}
		})
	}
}

// TestStreamShortSource: a source that ends before its declared pixel data
// is a quarantine, not a partial clean file.
func TestStreamShortSource(t *testing.T) {
	in := genFile(t, synth.DICOMSpec{Modality: "CT", Rows: 512, Cols: 512})
	var out bytes.Buffer
	_, err := New(Config{}).Deidentify(context.Background(), &out, bytes.NewReader(in[:len(in)-1000]), int64(len(in)), streamPerson(), streamOpts())
	if !masking.IsQuarantine(err) {
		t.Fatalf("want quarantine, got %v", err)
	}
}

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// hugeCT returns the head of a 512x512 CT with frames frames whose pixel
// data (frames x 512 KiB of zeros) is to follow, and the pixel length.
func hugeCT(t *testing.T, frames int) ([]byte, int64) {
	t.Helper()
	in := genFile(t, synth.DICOMSpec{Modality: "CT", Rows: 512, Cols: 512, Frames: 2, Marker: "ZORGLUBMARK"})
	// (0028,0008) IS "2 " becomes the wanted count; the dataset has no
	// group lengths, so later offsets may move.
	nf := []byte{0x28, 0, 0x08, 0, 'I', 'S', 2, 0, '2', ' '}
	i := bytes.Index(in, nf)
	if i < 0 {
		t.Fatal("NumberOfFrames not found in synthetic file")
	}
	v := fmt.Sprint(frames)
	if len(v)%2 == 1 {
		v += " "
	}
	el := append([]byte{0x28, 0, 0x08, 0, 'I', 'S', byte(len(v)), 0}, v...)
	px := bytes.Index(in, []byte{0xE0, 0x7F, 0x10, 0x00, 'O', 'W', 0, 0})
	if px < 0 {
		t.Fatal("PixelData not found in synthetic file")
	}
	n := int64(frames) * 512 * 512 * 2
	head := append(append(append([]byte(nil), in[:i]...), el...), in[i+len(nf):px]...)
	head = append(head, 0xE0, 0x7F, 0x10, 0x00, 'O', 'W', 0, 0)
	head = binary.LittleEndian.AppendUint32(head, uint32(n))
	return head, n
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// TestOneGiBStreamed (issue 9): a 1 GiB DICOM file is refused with a clear
// reason under the default 512 MiB limit, and, with the limit raised, is
// de-identified streaming: the pixels go from source to output while the
// heap grows by a few megabytes, never by the file's size.
func TestOneGiBStreamed(t *testing.T) {
	head, n := hugeCT(t, 2048)
	size := int64(len(head)) + n
	src := func() io.Reader { return io.MultiReader(bytes.NewReader(head), io.LimitReader(zeros{}, n)) }

	_, err := New(Config{}).Deidentify(context.Background(), io.Discard, src(), size, streamPerson(), streamOpts())
	if !masking.IsQuarantine(err) || !strings.Contains(err.Error(), "exceeds the limit") {
		t.Fatalf("default limit: want a quarantine naming the limit, got %v", err)
	}

	o := streamOpts()
	o.MaxBytes, o.MaxPixels = 2<<30, 1<<30
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var out counter
	res, err := New(Config{}).Deidentify(context.Background(), &out, src(), size, streamPerson(), o)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	if res.SOPInstanceUID == "" || out.n < n {
		t.Fatalf("output %d bytes for %d pixel bytes", out.n, n)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 32<<20 {
		t.Fatalf("allocated %d MiB for a 1 GiB file: not streamed", grew>>20)
	}
	// The same file with its pixels to edit needs them in memory: refused
	// by the limit before any large read.
	o.MaxBytes = 512 << 20
	if _, err := New(Config{}).Deidentify(context.Background(), io.Discard, src(), size, streamPerson(), o); !masking.IsQuarantine(err) {
		t.Fatalf("want quarantine, got %v", err)
	}
	if errors.Is(err, errNeedPixels) {
		t.Fatal("internal sentinel leaked")
	}
}

// TestFramesUnreadable: a Number of Frames that does not read as a
// positive count would leave frames unmasked: quarantined.
func TestFramesUnreadable(t *testing.T) {
	for _, v := range []string{"2x", "-2", "0 "} {
		in := genFile(t, synth.DICOMSpec{Modality: "US", Rows: 48, Cols: 64, Frames: 2, PlantText: true})
		nf := []byte{0x28, 0, 0x08, 0, 'I', 'S', 2, 0, '2', ' '}
		i := bytes.Index(in, nf)
		if i < 0 {
			t.Fatal("NumberOfFrames not found in synthetic file")
		}
		copy(in[i+8:], v)
		o := streamOpts()
		o.Boxes = []masking.Box{{X1: 64, Y1: 10}}
		_, _, err := deidentifyBytes(in, o)
		if !masking.IsQuarantine(err) || !strings.Contains(err.Error(), "number of frames") {
			t.Errorf("NumberOfFrames %q: want a quarantine, got %v", v, err)
		}
	}
}
