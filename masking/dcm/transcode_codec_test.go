//go:build dcmcodec

package dcm_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
	"golang.org/x/image/bmp"

	"hdw/internal/testenv"
	"hdw/masking"
	"hdw/masking/dcm"
	"hdw/synth"
)

// encodeWith runs an independent encoder or decoder (dcmtk, gdcm) on a
// file: tool [args] in out.
func encodeWith(t testing.TB, in []byte, tool string, args ...string) []byte {
	t.Helper()
	testenv.Tool(t, tool, "independent encoder, install with make deps")
	dir := t.TempDir()
	src, dst := dir+"/in.dcm", dir+"/out.dcm"
	if err := os.WriteFile(src, in, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(tool, append(args, src, dst)...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", tool, args, err, out)
	}
	b, err := os.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// metaOf returns a file's transfer syntax and one attribute's first value.
func attrOf(t *testing.T, b []byte, tg tag.Tag) string {
	t.Helper()
	ds, err := dicom.Parse(bytes.NewReader(b), int64(len(b)), nil, dicom.SkipPixelData())
	if err != nil {
		t.Fatal(err)
	}
	e, err := ds.FindElementByTag(tg)
	if err != nil {
		return ""
	}
	if s, ok := e.Value.GetValue().([]string); ok && len(s) > 0 {
		return strings.TrimSpace(s[0])
	}
	return ""
}

// codecCase is a source file, the independent encoder run on it, and
// what the encoded file must be.
type codecCase struct {
	name     string
	src      []byte
	frames   int
	bpp      int // bytes per pixel
	tool     string
	args     []string
	ts       string
	lossless bool
	ref      []string // the reference decoder (default gdcmconv --raw)
}

// TestIssue20_EncapsulatedCodecsMasked_SEC_PSE_4: files encoded by dcmtk
// and gdcm in JPEG lossless (processes 14 and SV1, 8 and 16 bits), JPEG
// extended (8 and 12 bits), JPEG 2000 (lossless and lossy) and JPEG-LS
// (lossless and near-lossless), gray and RGB, with burned-in text, are
// decoded, masked and written native: the text is gone from every frame,
// every pixel outside the mask equals gdcm's (or dcmtk's) decoding of the
// same file and, lossless, the source's pixels; the output opens in
// dcmdump, gdcmconv and dcmdjpeg, and a lossy source is declared lossy.
func TestIssue20_EncapsulatedCodecsMasked_SEC_PSE_4(t *testing.T) {
	const rows, cols = 120, 160
	x0, y0, x1, y1 := synth.TextBox(rows, cols)
	textBox := masking.Box{X0: x0, Y0: y0, X1: x1, Y1: y1}
	us8 := synth.DICOMSpec{Modality: "US", Rows: rows, Cols: cols, Frames: 3, PlantText: true, PatientName: "ZORGLUB^MARK"}
	us16 := us8
	us16.BitsAllocated, us16.Frames = 16, 2
	one8 := us8
	one8.Frames = 1
	g8, g16, g1 := gen(t, us8), gen(t, us16), gen(t, one8)
	rgb := rgbSource(t, rows, cols, textBox)
	for _, c := range []codecCase{
		{"jpeg-lossless-sv1-8", g8, 3, 1, "gdcmconv", []string{"--jpeg"}, "1.2.840.10008.1.2.4.70", true, nil},
		{"jpeg-lossless-sv1-16", g16, 2, 2, "dcmcjpeg", []string{"+e1"}, "1.2.840.10008.1.2.4.70", true, nil},
		{"jpeg-lossless-process14", g8, 3, 1, "dcmcjpeg", []string{"+el", "+sv", "4"}, "1.2.840.10008.1.2.4.57", true, nil},
		{"jpeg-extended-8", g8, 3, 1, "dcmcjpeg", []string{"+ee"}, "1.2.840.10008.1.2.4.51", false, nil},
		{"jpeg-extended-12", g16, 2, 2, "dcmcjpeg", []string{"+ee", "+bt"}, "1.2.840.10008.1.2.4.51", false, nil},
		{"j2k-lossless", g8, 3, 1, "gdcmconv", []string{"--j2k"}, "1.2.840.10008.1.2.4.90", true, nil},
		{"j2k-lossless-16", g16, 2, 2, "gdcmconv", []string{"--j2k"}, "1.2.840.10008.1.2.4.90", true, nil},
		{"j2k-lossy", g8, 3, 1, "gdcmconv", []string{"--j2k", "--lossy", "--irreversible", "-q", "30"}, "1.2.840.10008.1.2.4.91", false, nil},
		{"jpegls-lossless", g8, 3, 1, "gdcmconv", []string{"--jpegls"}, "1.2.840.10008.1.2.4.80", true, nil},
		{"jpegls-lossless-16", g16, 2, 2, "gdcmconv", []string{"--jpegls"}, "1.2.840.10008.1.2.4.80", true, nil},
		{"jpegls-near", g8, 3, 1, "gdcmconv", []string{"--jpegls", "--lossy", "-e", "3"}, "1.2.840.10008.1.2.4.81", false, nil},
		{"jpeg-lossless-fragments", g1, 1, 1, "gdcmconv", []string{"--jpeg"}, "1.2.840.10008.1.2.4.70", true, nil},
		{"jpeg-frames-fragments", g8, 3, 1, "dcmcjpeg", []string{"+e1", "+fs", "1"}, "1.2.840.10008.1.2.4.70", true, nil},
		{"rgb-jpeg-lossless", rgb, 1, 3, "gdcmconv", []string{"--jpeg"}, "1.2.840.10008.1.2.4.70", true, nil},
		{"rgb-j2k-lossless", rgb, 1, 3, "gdcmconv", []string{"--j2k"}, "1.2.840.10008.1.2.4.90", true, nil},
		{"rgb-jpegls-lossless", rgb, 1, 3, "gdcmconv", []string{"--jpegls"}, "1.2.840.10008.1.2.4.80", true, nil},
		{"ybr422-jpeg-extended", rgb, 1, 3, "dcmcjpeg", []string{"+ee"}, "1.2.840.10008.1.2.4.51", false, []string{"dcmdjpeg"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			enc := encodeWith(t, c.src, c.tool, c.args...)
			if strings.HasSuffix(c.name, "-fragments") {
				enc = splitFragments(t, enc, c.frames)
			}
			if ts := attrOf(t, enc, tag.TransferSyntaxUID); ts != c.ts {
				t.Fatalf("%s wrote transfer syntax %s, want %s", c.tool, ts, c.ts)
			}
			if c.ref == nil {
				c.ref = []string{"gdcmconv", "--raw"}
			}
			ref := encodeWith(t, enc, c.ref[0], c.ref[1:]...)
			out, res, err := deidentifyWith(t, enc, dcm.Config{}, masking.Options{Boxes: []masking.Box{textBox}})
			if err != nil {
				t.Fatal(err)
			}
			if ts := attrOf(t, out, tag.TransferSyntaxUID); ts != "1.2.840.10008.1.2.1" {
				t.Errorf("output transfer syntax %s", ts)
			}
			if !strings.Contains(strings.Join(res.Actions, ","), "pixels:decoded") {
				t.Errorf("actions %v", res.Actions)
			}
			lossy := attrOf(t, out, tag.LossyImageCompression) == "01"
			if lossy == c.lossless || (lossy && attrOf(t, out, tag.LossyImageCompressionMethod) == "") {
				t.Errorf("lossy image compression %v, method %q", lossy, attrOf(t, out, tag.LossyImageCompressionMethod))
			}
			if c.bpp == 3 && attrOf(t, out, tag.PhotometricInterpretation) != "RGB" {
				t.Errorf("photometric %s", attrOf(t, out, tag.PhotometricInterpretation))
			}
			got, _, _ := pixelsOf(t, out)
			want, _, _ := pixelsOf(t, ref)
			orig, _, _ := pixelsOf(t, c.src)
			checkMasked(t, c, got, want, orig, rows, cols, textBox)
			dcmdumpCheck(t, out, []planted{{"patient name", "ZORGLUB"}})
			encodeWith(t, out, "gdcmconv", "--raw")
			encodeWith(t, out, "dcmdjpeg")
		})
	}
}

// checkMasked compares the masked frames (got) with the reference
// decoding (want) and, lossless, the source (orig).
func checkMasked(t *testing.T, c codecCase, got, want, orig []byte, rows, cols int, box masking.Box) {
	t.Helper()
	frame := rows * cols * c.bpp
	if len(got) < c.frames*frame || len(want) < c.frames*frame || len(orig) < c.frames*frame {
		t.Fatalf("pixel data %d bytes, reference %d, source %d, want %d", len(got), len(want), len(orig), c.frames*frame)
	}
	masked := 0
	for f := 0; f < c.frames; f++ {
		for y := 0; y < rows; y++ {
			for x := 0; x < cols; x++ {
				in := x >= box.X0 && x < box.X1 && y >= box.Y0 && y < box.Y1
				for k := 0; k < c.bpp; k++ {
					i := f*frame + (y*cols+x)*c.bpp + k
					if in && orig[i] != got[i] {
						masked++
					}
					switch {
					case in && got[i] != 0:
						t.Fatalf("frame %d: text pixel (%d,%d) not masked", f, x, y)
					case !in && got[i] != want[i]:
						t.Fatalf("frame %d: pixel (%d,%d) is %d, the reference decodes %d", f, x, y, got[i], want[i])
					case !in && c.lossless && got[i] != orig[i]:
						t.Fatalf("frame %d: pixel (%d,%d) is %d, the source's %d", f, x, y, got[i], orig[i])
					}
				}
			}
		}
	}
	if masked == 0 {
		t.Fatal("no text planted in the box")
	}
}

// splitFragments rewrites a one-frame file with its frame in fragments of
// 1 KiB (gdcmconv -S) and checks that the frames are split.
func splitFragments(t *testing.T, enc []byte, frames int) []byte {
	t.Helper()
	if frames == 1 {
		enc = encodeWith(t, enc, "gdcmconv", "-S", "1024")
	}
	ds, err := dicom.Parse(bytes.NewReader(enc), int64(len(enc)), nil)
	if err != nil {
		t.Fatal(err)
	}
	pe, err := ds.FindElementByTag(tag.PixelData)
	if err != nil || len(dicom.MustGetPixelDataInfo(pe.Value).Frames) <= frames {
		t.Fatalf("not split in fragments (%v)", err)
	}
	return enc
}

// rgbSource writes a secondary capture in native RGB (dcmtk's img2dcm from
// a BMP): a color gradient with a white block of "text" in box.
func rgbSource(t *testing.T, rows, cols int, box masking.Box) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, cols, rows))
	for y := 0; y < rows; y++ {
		for x := 0; x < cols; x++ {
			c := color.NRGBA{uint8(40 + x), uint8(30 + 2*y), uint8(90 + (x+y)%50), 255}
			if x >= box.X0 && x < box.X1 && y >= box.Y0 && y < box.Y1 && (x+y)%3 != 0 {
				c = color.NRGBA{255, 255, 255, 255}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := bmp.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return encodeWith(t, b.Bytes(), "img2dcm", "-i", "BMP")
}

// TestIssue20_CodecBombRefused: a codestream declaring a larger image than
// the DICOM header (a decompression bomb) is quarantined before it is
// decoded, with a reason that says so and names the codec.
func TestIssue20_CodecBombRefused(t *testing.T) {
	src := gen(t, synth.DICOMSpec{Modality: "US", Rows: 64, Cols: 64, PlantText: true})
	for _, c := range []struct {
		name, codec string
		args        []string
		marker      []byte
		at          int // offset of the height and width from the marker
	}{
		{"jpeg-lossless", "JPEG Lossless", []string{"--jpeg"}, []byte{0xFF, 0xC3}, 5},
		{"jpeg-ls", "JPEG-LS", []string{"--jpegls"}, []byte{0xFF, 0xF7}, 5},
		{"jpeg-2000", "JPEG 2000", []string{"--j2k"}, []byte{0xFF, 0x4F, 0xFF, 0x51}, 8},
	} {
		t.Run(c.name, func(t *testing.T) {
			enc := encodeWith(t, src, "gdcmconv", c.args...)
			i := bytes.Index(enc, c.marker)
			if i < 0 {
				t.Fatal("frame header not found")
			}
			copy(enc[i+c.at:], []byte{0xFF, 0xF0, 0xFF, 0xF0})
			_, _, err := deidentifyWith(t, enc, dcm.Config{}, masking.Options{Boxes: []masking.Box{{X0: 0, Y0: 0, X1: 8, Y1: 8}}})
			var q *masking.QuarantineError
			if !errors.As(err, &q) || !strings.Contains(q.Reason, "declares another size") || !strings.Contains(q.Reason, c.codec) {
				t.Fatalf("err %v, want a quarantine naming the size and %s", err, c.codec)
			}
		})
	}
}

// BenchmarkIssue20_Transcode: de-identification of a 4-frame 512x512
// 16-bit ultrasound whose burned-in text is masked, per codec (SetBytes:
// the native pixel bytes written).
func BenchmarkIssue20_Transcode(b *testing.B) {
	src := gen(b, synth.DICOMSpec{Modality: "US", Rows: 512, Cols: 512, Frames: 4, BitsAllocated: 16, PlantText: true})
	box := masking.Box{X0: 0, Y0: 0, X1: 200, Y1: 40}
	for _, c := range []struct {
		name, tool string
		args       []string
	}{
		{"native", "", nil},
		{"jpeg-lossless", "gdcmconv", []string{"--jpeg"}},
		{"jpeg2000", "gdcmconv", []string{"--j2k"}},
		{"jpeg-ls", "gdcmconv", []string{"--jpegls"}},
	} {
		in := src
		if c.tool != "" {
			in = encodeWith(b, src, c.tool, c.args...)
		}
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(512 * 512 * 4 * 2)
			for i := 0; i < b.N; i++ {
				var out bytes.Buffer
				_, err := dcm.New(dcm.Config{}).Deidentify(context.Background(), &out, bytes.NewReader(in), int64(len(in)),
					masking.Person{Pseudonym: "P1"}, masking.Options{UIDs: func(string) string { return "2.25.7" }, Boxes: []masking.Box{box}})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
