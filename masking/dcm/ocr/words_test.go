//go:build ocr

package ocr_test

import (
	"bytes"
	"context"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"hdw/internal/testenv"
	"hdw/masking"
	"hdw/masking/dcm"
	"hdw/masking/dcm/ocr"
	"hdw/synth"
)

// scene is a synthetic scan with rendered text.
type scene struct {
	name  string
	w, h  int
	texts []synth.TextSpec
}

// inked is the truth of one rendered text: its coverage and ink box.
type inked struct {
	cov *image.Alpha
	box image.Rectangle
}

func render(t *testing.T, s scene, seed uint64) (*image.Gray, []inked) {
	t.Helper()
	img := synth.Anatomy(s.w, s.h, seed)
	var out []inked
	for _, ts := range s.texts {
		cov, box, err := synth.DrawText(img, ts)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, inked{cov, box})
	}
	return img, out
}

// deidentify runs the DICOM masker with Tesseract on a file built from
// frames and returns the output bytes and its 8-bit frames.
func deidentify(t *testing.T, spec synth.DICOMSpec, cfg dcm.Config) ([]byte, [][]byte, masking.Result) {
	t.Helper()
	f, err := ocr.New(ocr.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var in bytes.Buffer
	if err := synth.DICOM(&in, spec); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	o := masking.Options{UIDs: func(u string) string { return "2.25.1" + u[len(u)-1:] }, OCR: f}
	res, err := dcm.New(cfg).Deidentify(context.Background(), &out, bytes.NewReader(in.Bytes()), int64(in.Len()), masking.Person{Pseudonym: "P1"}, o)
	if err != nil {
		t.Fatalf("deidentify: %v", err)
	}
	ds, err := dicom.Parse(bytes.NewReader(out.Bytes()), int64(out.Len()), nil, dicom.SkipProcessingPixelDataValue())
	if err != nil {
		t.Fatal(err)
	}
	e, err := ds.FindElementByTag(tag.PixelData)
	if err != nil {
		t.Fatal(err)
	}
	info := dicom.MustGetPixelDataInfo(e.Value)
	if info.IsEncapsulated {
		t.Fatal("output pixel data still encapsulated")
	}
	n := spec.Rows * spec.Cols
	raw := info.UnprocessedValueData
	var frames [][]byte
	for i := 0; (i+1)*n <= len(raw); i++ {
		frames = append(frames, raw[i*n:(i+1)*n])
	}
	return out.Bytes(), frames, res
}

// measure compares a frame before and after masking: the share of text
// pixels (coverage of at least one half) masked, the masked pixel count,
// and the count of masked pixels farther than margin from any text.
func measure(in, out []byte, w int, texts []inked, margin int) (recall float64, masked, stray int) {
	var text, hit int
	for i := range in {
		x, y := i%w, i/w
		changed := in[i] != out[i]
		isText := false
		near := false
		for _, tx := range texts {
			if tx.cov.AlphaAt(x, y).A >= 128 {
				isText = true
			}
			if image.Pt(x, y).In(tx.box.Inset(-margin)) {
				near = true
			}
		}
		if isText {
			text++
			if changed {
				hit++
			}
		}
		if changed {
			masked++
			if !near {
				stray++
			}
		}
	}
	return float64(hit) / float64(max(1, text)), masked, stray
}

func boxArea(texts []inked) int {
	n := 0
	for _, tx := range texts {
		n += tx.box.Dx() * tx.box.Dy()
	}
	return n
}

// TestSEC_PSE_4_WordMasksRenderedText renders text with the Go fonts at
// several sizes, contrasts and angles on synthetic anatomy in a secondary
// capture and checks the mask: at least 95% of the text pixels blanked,
// the masked area at most twice the text's boxes, and every pixel away
// from the text bit-identical.
func TestSEC_PSE_4_WordMasksRenderedText(t *testing.T) {
	scenes := []scene{
		{"sizes-contrasts", 384, 288, []synth.TextSpec{
			{Text: "DUBOIS AMELIE", X: 8, Y: 6, Size: 13, Gray: 255},
			{Text: "ID 4471239", X: 250, Y: 8, Size: 11, Gray: 235, Mono: true},
			{Text: "12/03/1984", X: 120, Y: 130, Size: 22, Gray: 250},
			{Text: "MARTIN", X: 8, Y: 250, Size: 28, Gray: 225},
			{Text: "TEL 0612345678", X: 200, Y: 262, Size: 15, Gray: 200},
		}},
		{"vertical", 320, 288, []synth.TextSpec{
			{Text: "LEROY PAUL", X: 4, Y: 60, Size: 16, Gray: 255, Angle: 90},
			{Text: "1840375123456", X: 296, Y: 30, Size: 14, Gray: 240, Angle: 270},
		}},
	}
	for _, s := range scenes {
		t.Run(s.name, func(t *testing.T) {
			img, texts := render(t, s, 1)
			_, frames, res := deidentify(t, synth.DICOMSpec{Modality: "SC", Rows: s.h, Cols: s.w, Frames8: [][]byte{img.Pix}}, dcm.Config{})
			recall, masked, stray := measure(img.Pix, frames[0], s.w, texts, 8)
			area := boxArea(texts)
			t.Logf("actions %v: recall %.3f, masked %d px for %d px of text boxes (%.2fx), %d px masked away from text", res.Actions, recall, masked, area, float64(masked)/float64(area), stray)
			if recall < 0.95 {
				t.Errorf("%.1f%% of text pixels masked, want at least 95%%", 100*recall)
			}
			if masked > 2*area {
				t.Errorf("masked %d pixels, more than twice the text boxes (%d)", masked, area)
			}
			if stray != 0 {
				t.Errorf("%d pixels changed away from the text", stray)
			}
			for i, tx := range texts {
				one, _, _ := measure(img.Pix, frames[0], s.w, []inked{tx}, 8)
				if one < 0.95 {
					t.Errorf("text %d (%q): %.1f%% masked", i, s.texts[i].Text, 100*one)
				}
			}
		})
	}
}

// TestSEC_PSE_4_CineLastFrameName plants a name in the last frame only of
// a multi-frame ultrasound loop whose anatomy moves: it is masked, and the
// mask is applied on every frame.
func TestSEC_PSE_4_CineLastFrameName(t *testing.T) {
	const w, h, n = 256, 192, 9
	var frames [][]byte
	var name []inked
	var last *image.Gray
	for f := 0; f < n; f++ {
		img := synth.Anatomy(w, h, uint64(f))
		if f == n-1 {
			cov, box, err := synth.DrawText(img, synth.TextSpec{Text: "BERNARD LUCIE", X: 12, Y: 160, Size: 14, Gray: 255})
			if err != nil {
				t.Fatal(err)
			}
			name = []inked{{cov, box}}
			last = img
		}
		frames = append(frames, img.Pix)
	}
	_, out, res := deidentify(t, synth.DICOMSpec{Modality: "US", Rows: h, Cols: w, Frames8: frames}, dcm.Config{})
	if len(out) != n {
		t.Fatalf("%d frames out, want %d", len(out), n)
	}
	recall, _, stray := measure(last.Pix, out[n-1], w, name, 8)
	t.Logf("actions %v: recall %.3f, stray %d", res.Actions, recall, stray)
	if recall < 0.95 {
		t.Errorf("name in the last frame: %.1f%% masked", 100*recall)
	}
	if stray != 0 {
		t.Errorf("%d pixels changed away from the name", stray)
	}
	// The union of masks is applied to every frame: the first frame
	// is blanked where the name is in the last.
	first, _, _ := measure(frames[0], out[0], w, name, 8)
	if first < 0.95 {
		t.Errorf("first frame: %.1f%% of the name's region masked", 100*first)
	}
}

// TestSEC_PSE_4_NoTextSecondaryCaptureStored: a secondary capture in which
// OCR finds no text is stored, saying so; the strict profile quarantines it.
func TestSEC_PSE_4_NoTextSecondaryCaptureStored(t *testing.T) {
	img := synth.Anatomy(256, 192, 3)
	spec := synth.DICOMSpec{Modality: "SC", Rows: 192, Cols: 256, Frames8: [][]byte{img.Pix}}
	_, out, res := deidentify(t, spec, dcm.Config{})
	if !contains(res.Actions, dcm.ActionOCRNoText) {
		t.Errorf("actions %v lack %q", res.Actions, dcm.ActionOCRNoText)
	}
	if !bytes.Equal(out[0], img.Pix) {
		t.Error("pixels changed in an image without text")
	}
	var in, dst bytes.Buffer
	if err := synth.DICOM(&in, spec); err != nil {
		t.Fatal(err)
	}
	f, err := ocr.New(ocr.Config{})
	if err != nil {
		t.Fatal(err)
	}
	o := masking.Options{UIDs: func(u string) string { return "2.25.1" }, OCR: f}
	_, err = dcm.New(dcm.Config{StrictNoText: true}).Deidentify(context.Background(), &dst, bytes.NewReader(in.Bytes()), int64(in.Len()), masking.Person{Pseudonym: "P1"}, o)
	if !masking.IsQuarantine(err) {
		t.Errorf("strict profile: err %v, want quarantine", err)
	}
	// Declared burned-in text that OCR cannot find stays quarantined.
	spec.BurnedInAnnotation = true
	in.Reset()
	if err := synth.DICOM(&in, spec); err != nil {
		t.Fatal(err)
	}
	_, err = dcm.New(dcm.Config{}).Deidentify(context.Background(), &dst, bytes.NewReader(in.Bytes()), int64(in.Len()), masking.Person{Pseudonym: "P1"}, o)
	if !masking.IsQuarantine(err) {
		t.Errorf("BurnedInAnnotation YES without text found: err %v, want quarantine", err)
	}
}

// TestSEC_PSE_4_JPEGUltrasoundMasked: a JPEG Baseline ultrasound with
// burned-in text is decoded, masked word by word and stored native; the
// output opens in dcmtk's dcmdump and decodes with dcm2pnm.
func TestSEC_PSE_4_JPEGUltrasoundMasked(t *testing.T) {
	const w, h = 320, 240
	img := synth.Anatomy(w, h, 5)
	cov, box, err := synth.DrawText(img, synth.TextSpec{Text: "GARNIER JULES", X: 10, Y: 8, Size: 16, Gray: 255})
	if err != nil {
		t.Fatal(err)
	}
	spec := synth.DICOMSpec{Modality: "US", Rows: h, Cols: w, Frames8: [][]byte{img.Pix}, TransferSyntax: synth.JPEGBaseline}
	file, out, res := deidentify(t, spec, dcm.Config{})
	t.Logf("actions %v", res.Actions)
	// The JPEG round trip changes every pixel a little: count as masked
	// the text pixels now black.
	var text, black int
	for i := range out[0] {
		if cov.AlphaAt(i%w, i/w).A >= 128 {
			text++
			if out[0][i] == 0 {
				black++
			}
		}
	}
	if float64(black) < 0.95*float64(text) {
		t.Errorf("%d of %d text pixels masked", black, text)
	}
	var outside int
	for i := range out[0] {
		if out[0][i] == 0 && !image.Pt(i%w, i/w).In(box.Inset(-8)) {
			outside++
		}
	}
	if outside != 0 {
		t.Errorf("%d pixels blanked away from the text", outside)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "us.dcm")
	if err := os.WriteFile(p, file, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tool := range [][]string{{"dcmdump", p}, {"dcm2pnm", p, filepath.Join(dir, "us.pgm")}} {
		testenv.Tool(t, tool[0], "dcmtk, install with make deps")
		b, err := exec.Command(tool[0], tool[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", tool[0], err, b)
		}
		if tool[0] == "dcmdump" && (!strings.Contains(string(b), "=LittleEndianExplicit") || !strings.Contains(string(b), "(0028,2110) CS [01]")) {
			t.Errorf("dcmdump: transfer syntax or lossy compression not updated:\n%s", b)
		}
	}
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}
