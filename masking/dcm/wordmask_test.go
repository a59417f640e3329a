package dcm_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"hdw/masking"
	"hdw/masking/dcm"
	"hdw/masking/dcm/codec"
	"hdw/synth"
)

func deidentifyWith(t *testing.T, in []byte, cfg dcm.Config, o masking.Options) ([]byte, masking.Result, error) {
	t.Helper()
	if o.UIDs == nil {
		o.UIDs = func(u string) string { return "2.25.7" }
	}
	var out bytes.Buffer
	res, err := dcm.New(cfg).Deidentify(context.Background(), &out, bytes.NewReader(in), int64(len(in)), masking.Person{Pseudonym: "P1"}, o)
	return out.Bytes(), res, err
}

// TestSEC_PSE_4_EncapsulatedQuarantineNamesCodec: burned-in text in a
// codec hdw cannot decode is quarantined with a reason naming the codec
// (with the dcmcodec tag, a baseline stream under a JPEG syntax decodes:
// the codec's own tests are in transcode_codec_test.go; JPEG 2000 and
// JPEG-LS then fail to decode it, with a reason naming the codec).
func TestSEC_PSE_4_EncapsulatedQuarantineNamesCodec(t *testing.T) {
	for ts, name := range map[string]string{
		"1.2.840.10008.1.2.4.90": "JPEG 2000",
		"1.2.840.10008.1.2.4.80": "JPEG-LS",
		"1.2.840.10008.1.2.4.70": "JPEG Lossless",
		"1.2.840.10008.1.2.4.51": "JPEG Extended 12-bit",
	} {
		if codec.Built && strings.HasPrefix(name, "JPEG ") {
			continue
		}
		var in bytes.Buffer
		if err := synth.DICOM(&in, synth.DICOMSpec{Modality: "US", Rows: 16, Cols: 16, TransferSyntax: synth.JPEGBaseline}); err != nil {
			t.Fatal(err)
		}
		// Same length UIDs: the file stays well formed.
		b := bytes.Replace(in.Bytes(), []byte(synth.JPEGBaseline), []byte(ts), 1)
		_, _, err := deidentifyWith(t, b, dcm.Config{}, masking.Options{OCR: &fakeOCR{}})
		var q *masking.QuarantineError
		if !errors.As(err, &q) {
			t.Fatalf("%s: err %v, want quarantine", name, err)
		}
		if !strings.Contains(q.Reason, name) {
			t.Errorf("%s: reason %q does not name the codec", name, q.Reason)
		}
	}
}

// TestSEC_PSE_4_NoTextPolicy: an SC image in which OCR finds nothing is
// stored with the action saying so; the strict profile, a declared
// BurnedInAnnotation YES and an ultrasound keep the quarantine; a
// configured device mask still applies.
func TestSEC_PSE_4_NoTextPolicy(t *testing.T) {
	build := func(s synth.DICOMSpec) []byte {
		var b bytes.Buffer
		if err := synth.DICOM(&b, s); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	sc := build(synth.DICOMSpec{Modality: "SC", Rows: 32, Cols: 32})
	_, res, err := deidentifyWith(t, sc, dcm.Config{}, masking.Options{OCR: &fakeOCR{}})
	if err != nil || !strings.Contains(strings.Join(res.Actions, ","), dcm.ActionOCRNoText) {
		t.Errorf("SC without text: err %v actions %v", err, res.Actions)
	}
	for name, c := range map[string]struct {
		in  []byte
		cfg dcm.Config
	}{
		"strict":     {sc, dcm.Config{StrictNoText: true}},
		"burned-in":  {build(synth.DICOMSpec{Modality: "SC", Rows: 32, Cols: 32, BurnedInAnnotation: true}), dcm.Config{}},
		"ultrasound": {build(synth.DICOMSpec{Modality: "US", Rows: 32, Cols: 32}), dcm.Config{}},
	} {
		if _, _, err := deidentifyWith(t, c.in, c.cfg, masking.Options{OCR: &fakeOCR{}}); !masking.IsQuarantine(err) {
			t.Errorf("%s: err %v, want quarantine", name, err)
		}
	}
	out, res, err := deidentifyWith(t, sc, dcm.Config{}, masking.Options{OCR: &fakeOCR{}, Masks: []masking.RegionMask{{Boxes: []masking.Box{{X0: 0, Y0: 0, X1: 4, Y1: 4}}}}})
	if err != nil || !strings.Contains(strings.Join(res.Actions, ","), "pixels:mask") {
		t.Fatalf("device mask: err %v actions %v", err, res.Actions)
	}
	raw, _, cols := pixelsOf(t, out)
	if raw[0] != 0 || raw[3*cols+3] != 0 {
		t.Error("device mask not applied")
	}
}

// recordingOCR finds no text and counts the frames it reads.
type recordingOCR struct{ read int }

func (r *recordingOCR) FindText(_ context.Context, gray []byte, w, h int) ([]masking.Box, error) {
	r.read++
	return nil, nil
}

// TestSEC_PSE_4_CineFrameSelection: a loop whose frames are smooth is read
// on its first, middle and last frames only; a frame with new sharp-edged
// content (text drawn late) is read too.
func TestSEC_PSE_4_CineFrameSelection(t *testing.T) {
	const w, h, n = 64, 48, 12
	smooth := func() []byte {
		b := make([]byte, w*h)
		for i := range b {
			b[i] = byte(40 + (i%w)/4)
		}
		return b
	}
	var frames [][]byte
	for f := 0; f < n; f++ {
		frames = append(frames, smooth())
	}
	var in bytes.Buffer
	if err := synth.DICOM(&in, synth.DICOMSpec{Modality: "US", Rows: h, Cols: w, Frames8: frames}); err != nil {
		t.Fatal(err)
	}
	r := &recordingOCR{}
	deidentifyWith(t, in.Bytes(), dcm.Config{}, masking.Options{OCR: r})
	if r.read != 3 {
		t.Errorf("smooth loop: %d frames read, want 3", r.read)
	}
	// Frame 4 gets sharp strokes.
	for y := 10; y < 20; y++ {
		for x := 10; x < 30; x += 3 {
			frames[4][y*w+x] = 255
		}
	}
	in.Reset()
	if err := synth.DICOM(&in, synth.DICOMSpec{Modality: "US", Rows: h, Cols: w, Frames8: frames}); err != nil {
		t.Fatal(err)
	}
	r = &recordingOCR{}
	deidentifyWith(t, in.Bytes(), dcm.Config{}, masking.Options{OCR: r})
	if r.read != 4 {
		t.Errorf("loop with late strokes: %d frames read, want 4", r.read)
	}
}
