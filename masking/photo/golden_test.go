package photo_test

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"hdw/masking"
	"hdw/synth"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/photo")

// jpegLayout lists a JPEG's segments (marker and, for APPn, its signature)
// up to SOS, then the bytes after EOI.
func jpegLayout(t *testing.T, b []byte) string {
	t.Helper()
	var out []string
	i := 2
	for i+4 <= len(b) && b[i] == 0xFF {
		m := b[i+1]
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		name := fmt.Sprintf("FF%02X", m)
		if m >= 0xE0 && m <= 0xEF { // APPn signature; COM content is not printed
			sig := b[i+4 : min(i+2+n, i+4+12, len(b))]
			if k := bytes.IndexByte(sig, 0); k >= 0 {
				sig = sig[:k]
			}
			name += fmt.Sprintf("(%q)", sig)
		}
		out = append(out, name)
		if m == 0xDA {
			break
		}
		i += 2 + n
	}
	eoi := bytes.LastIndex(b, []byte{0xFF, 0xD9})
	out = append(out, fmt.Sprintf("after-EOI:%d", len(b)-eoi-2))
	return strings.Join(out, "\n") + "\n"
}

// pngLayout lists a PNG's chunk types.
func pngLayout(b []byte) string {
	var out []string
	for i := 8; i+8 <= len(b); {
		n := int(binary.BigEndian.Uint32(b[i:]))
		out = append(out, string(b[i+4:i+8]))
		i += 12 + n
	}
	return strings.Join(out, "\n") + "\n"
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := "../../testdata/photo/" + name
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s: got\n%s\nwant\n%s", name, got, want)
	}
}

// TestSEC_PSE_4_RewriterGolden pins the segment and chunk layout of the
// rewriters' output: input layouts are recorded too, so the golden files
// show what was dropped (EXIF, XMP, extended XMP, IPTC, COM, MPF, trailer;
// PNG text chunks) and what was kept (JFIF, ICC, critical chunks).
func TestSEC_PSE_4_RewriterGolden(t *testing.T) {
	p, _ := testPerson()
	var j bytes.Buffer
	if err := synth.JPEG(&j, synth.PhotoSpec{Person: p, W: 32, H: 24}); err != nil {
		t.Fatal(err)
	}
	in := withICC(j.Bytes(), []byte("synthetic-icc"))
	out, _, err := deid(t, in, masking.Options{})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "jpeg-in.golden", jpegLayout(t, in))
	golden(t, "jpeg-out.golden", jpegLayout(t, out))

	var pg bytes.Buffer
	if err := synth.TextPNG(&pg, p, 8, 8); err != nil {
		t.Fatal(err)
	}
	out, _, err = deid(t, pg.Bytes(), masking.Options{})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "png-in.golden", pngLayout(pg.Bytes()))
	golden(t, "png-out.golden", pngLayout(out))
}

// TestDecompressionBombJPEG: a SOF claiming 65535 x 65535 is refused from
// the header, quickly and without allocating the image.
func TestDecompressionBombJPEG(t *testing.T) {
	sof := []byte{0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0x03,
		0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xFF, 0xD9}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	_, _, err := deid(t, sof, masking.Options{})
	runtime.ReadMemStats(&after)
	if !masking.IsQuarantine(err) || !strings.Contains(err.Error(), "dimensions") {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("refusal took %v", d)
	}
	if a := after.TotalAlloc - before.TotalAlloc; a > 16<<20 {
		t.Errorf("refusal allocated %d bytes", a)
	}
}
