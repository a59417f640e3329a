package dcm_test

import (
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"hdw/masking"
	"hdw/masking/dcm"
	"hdw/synth"
)

// fakeOCR returns fixed boxes, as a TextFinder would.
type fakeOCR struct {
	boxes []masking.Box
	err   error
	calls int
}

func (f *fakeOCR) FindText(_ context.Context, gray []byte, w, h int) ([]masking.Box, error) {
	f.calls++
	if len(gray) != w*h {
		return nil, errors.New("bad rendering size")
	}
	return f.boxes, f.err
}

func pixelsOf(t *testing.T, b []byte) (raw []byte, rows, cols int) {
	t.Helper()
	ds := parseOut(t, b)
	pe, err := ds.FindElementByTag(tag.PixelData)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := ds.FindElementByTag(tag.Rows)
	c, _ := ds.FindElementByTag(tag.Columns)
	return dicom.MustGetPixelDataInfo(pe.Value).UnprocessedValueData, dicom.MustGetInts(r.Value)[0], dicom.MustGetInts(c.Value)[0]
}

// textPixels counts bright (planted text) pixels of an 8-bit image in a box.
func textPixels(raw []byte, cols int, b masking.Box) int {
	n := 0
	for y := b.Y0; y < b.Y1; y++ {
		for x := b.X0; x < b.X1; x++ {
			if raw[y*cols+x] == 255 {
				n++
			}
		}
	}
	return n
}

// TestBurnedInText_SEC_PSE_4 checks that files known to carry burned-in
// text are masked by device masks, operator boxes or OCR boxes, and
// quarantined otherwise.
func TestBurnedInText_SEC_PSE_4(t *testing.T) {
	x0, y0, x1, y1 := synth.TextBox(120, 160)
	textBox := masking.Box{X0: x0, Y0: y0, X1: x1, Y1: y1}
	us := synth.DICOMSpec{Modality: "US", Rows: 120, Cols: 160, Frames: 2, PlantText: true, Marker: "ZORGLUBMARK", Manufacturer: "EchoCorp", Model: "E9"}
	ct := synth.DICOMSpec{Modality: "CT", Rows: 120, Cols: 160, BitsAllocated: 8, PlantText: true, BurnedInAnnotation: true, Marker: "ZORGLUBMARK"}
	jpg := us
	jpg.TransferSyntax = synth.JPEGBaseline
	cases := []struct {
		name       string
		spec       synth.DICOMSpec
		o          func(*masking.Options)
		quarantine bool
		masked     bool
	}{
		{"us-device-mask", us, func(o *masking.Options) {
			o.Masks = []masking.RegionMask{{Manufacturer: "other", Boxes: []masking.Box{{X0: 0, Y0: 100, X1: 10, Y1: 110}}}, {Manufacturer: "echocorp", Model: "E9", Boxes: []masking.Box{textBox}}}
		}, false, true},
		{"us-operator-boxes", us, func(o *masking.Options) { o.Boxes = []masking.Box{textBox} }, false, true},
		{"us-ocr", us, func(o *masking.Options) { o.OCR = &fakeOCR{boxes: []masking.Box{{X0: 4, Y0: 4, X1: 150, Y1: 40}}} }, false, true},
		{"us-no-mask-no-ocr", us, func(o *masking.Options) {}, true, false},
		{"us-ocr-finds-nothing", us, func(o *masking.Options) { o.OCR = &fakeOCR{} }, true, false},
		{"us-ocr-fails", us, func(o *masking.Options) { o.OCR = &fakeOCR{err: errors.New("x")} }, true, false},
		{"ct-burned-in-yes", ct, func(o *masking.Options) { o.Boxes = []masking.Box{textBox} }, false, true},
		{"ct-burned-in-yes-unexamined", ct, func(o *masking.Options) {}, true, false},
		{"jpeg-burned-in-decoded", jpg, func(o *masking.Options) { o.Boxes = []masking.Box{textBox} }, false, true},
		{"jpeg-burned-in-unexamined", jpg, func(o *masking.Options) {}, true, false},
		{"xc-photo-without-boxes", synth.DICOMSpec{Modality: "XC", Rows: 120, Cols: 160}, func(o *masking.Options) {
			o.OCR = &fakeOCR{boxes: []masking.Box{{X0: 4, Y0: 4, X1: 150, Y1: 40}}}
		}, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := gen(t, c.spec)
			o := opts()
			c.o(&o)
			out, res, err := run(t, in, person(), o)
			if c.quarantine {
				if !masking.IsQuarantine(err) {
					t.Fatalf("want quarantine, got %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			raw, rows, cols := pixelsOf(t, out)
			frame := rows * cols
			for f := 0; f < c.spec.Frames || f == 0; f++ {
				if n := textPixels(raw[f*frame:], cols, textBox); c.masked && n != 0 {
					t.Errorf("frame %d: %d text pixels left", f, n)
				}
			}
			if !c.masked {
				return
			}
			found := false
			for _, a := range res.Actions {
				found = found || a == "pixels:mask" || a == "pixels:ocr"
			}
			if !found {
				t.Errorf("actions %v", res.Actions)
			}
			if c.spec.TransferSyntax == synth.JPEGBaseline {
				return
			}
			inRaw, _, _ := pixelsOf(t, in)
			if textPixels(inRaw, cols, textBox) == 0 {
				t.Fatal("synthetic text not planted")
			}
		})
	}
}

// TestQuarantine checks that files the masker cannot prove clean are
// quarantined with a reason that holds no planted value.
func TestQuarantine(t *testing.T) {
	good := gen(t, synth.DICOMSpec{Marker: "ZORGLUBMARK", PatientName: "Dubois^Amelie"})
	cases := []struct {
		name string
		in   []byte
		o    func(*masking.Options)
	}{
		{"no-pixel-data", gen(t, synth.DICOMSpec{SkipPixelData: true, PatientName: "Dubois^Amelie"}), nil},
		{"truncated-pixels", gen(t, synth.DICOMSpec{TruncatePixelData: true, PatientName: "Dubois^Amelie"}), nil},
		{"truncated-file", good[:len(good)-700], nil},
		{"garbage-after-preamble", append(append([]byte{}, good[:132]...), bytes.Repeat([]byte{0xFF}, 300)...), nil},
		{"too-big", good, func(o *masking.Options) { o.MaxBytes = 1000 }},
		{"too-many-pixels", good, func(o *masking.Options) { o.MaxPixels = 100 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := opts()
			if c.o != nil {
				c.o(&o)
			}
			var out bytes.Buffer
			h := dcm.New(dcm.Config{})
			_, err := h.Deidentify(context.Background(), &out, bytes.NewReader(c.in), int64(len(c.in)), person(), o)
			if !masking.IsQuarantine(err) {
				t.Fatalf("want quarantine, got %v", err)
			}
			for _, s := range []string{"Dubois", "ZORGLUB", "1.2.826"} {
				if bytes.Contains([]byte(err.Error()), []byte(s)) {
					t.Errorf("reason %q holds a file value", err)
				}
			}
			if bytes.Contains(out.Bytes(), []byte("Dubois")) || bytes.Contains(out.Bytes(), []byte("ZORGLUB")) {
				t.Error("input bytes copied to the output")
			}
		})
	}
	t.Run("no-uid-mapper", func(t *testing.T) {
		_, _, err := run(t, good, person(), masking.Options{})
		if !errors.Is(err, dcm.ErrNoUIDMapper) {
			t.Fatalf("got %v", err)
		}
	})
}

// deflated builds a file in the deflated transfer syntax (which the writer
// of suyashkumar/dicom refuses): meta by hand, body compressed.
func deflated(t *testing.T) []byte {
	t.Helper()
	el := func(g, e uint16, vr, v string) []byte {
		if len(v)%2 == 1 {
			v += "\x00"
		}
		b := binary.LittleEndian.AppendUint16(nil, g)
		b = binary.LittleEndian.AppendUint16(b, e)
		b = append(b, vr...)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
		return append(b, v...)
	}
	meta := append(el(2, 2, "UI", "1.2.840.10008.5.1.4.1.1.7"), el(2, 3, "UI", "1.2.826.0.1.3680043.10.1561.4")...)
	meta = append(meta, el(2, 0x10, "UI", "1.2.840.10008.1.2.1.99")...)
	var f bytes.Buffer
	f.Write(make([]byte, 128))
	f.WriteString("DICM")
	f.Write([]byte{2, 0, 0, 0, 'U', 'L', 4, 0})
	f.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(meta))))
	f.Write(meta)
	zw, _ := flate.NewWriter(&f, flate.BestSpeed)
	zw.Write(el(0x10, 0x10, "PN", "Dubois^Amelie"))
	zw.Close()
	return f.Bytes()
}

// TestOptions checks the Annex E options: full dates, modified dates,
// device identity, safe private, and UID consistency across files.
func TestOptions(t *testing.T) {
	s := synth.DICOMSpec{Marker: "ZORGLUBMARK", StudyDate: "20190612", Manufacturer: "SynthCo", Sex: "F",
		Extra: []synth.DICOMElement{{Tag: 0x00181000, VR: "LO", Value: "SERIAL991"}}}
	in := gen(t, s)
	cases := []struct {
		name string
		o    masking.DICOMOptions
		tg   tag.Tag
		want string
	}{
		{"modified-dates", masking.DICOMOptions{RetainLongitudinalModifiedDates: true}, tag.StudyDate, "20190506"},
		{"modified-flag", masking.DICOMOptions{RetainLongitudinalModifiedDates: true}, tag.LongitudinalTemporalInformationModified, "MODIFIED"},
		{"full-dates", masking.DICOMOptions{RetainLongitudinalFullDates: true}, tag.StudyDate, "20190612"},
		{"basic-dates-emptied", masking.DICOMOptions{CleanDescriptors: true}, tag.StudyDate, ""},
		{"basic-serial-removed", masking.DICOMOptions{RetainLongitudinalModifiedDates: true}, tag.DeviceSerialNumber, "<absent>"},
		{"device-identity", masking.DICOMOptions{RetainDeviceIdentity: true}, tag.DeviceSerialNumber, "SERIAL991"},
		{"patient-characteristics", masking.DICOMOptions{RetainPatientCharacteristics: true}, tag.PatientSex, "F"},
		{"basic-sex-emptied", masking.DICOMOptions{RetainLongitudinalModifiedDates: true}, tag.PatientSex, ""},
		{"safe-private-kept", masking.DICOMOptions{RetainSafePrivate: true, SafePrivate: []string{"synth private|0029,xx03"}}, tag.Tag{Group: 0x0029, Element: 0x1003}, "SAFE VALUE"},
		{"safe-private-creator", masking.DICOMOptions{RetainSafePrivate: true, SafePrivate: []string{"SYNTH PRIVATE|0029,XX03"}}, tag.Tag{Group: 0x0029, Element: 0x0010}, "SYNTH PRIVATE"},
		{"unsafe-private-removed", masking.DICOMOptions{RetainSafePrivate: true, SafePrivate: []string{"SYNTH PRIVATE|0029,XX03"}}, tag.Tag{Group: 0x0029, Element: 0x1001}, "<absent>"},
		{"private-default-removed", masking.DICOMOptions{}, tag.Tag{Group: 0x0029, Element: 0x1003}, "<absent>"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, _ := runDICOM(t, in, c.o)
			if got := firstValue(t, out, c.tg); got != c.want {
				t.Errorf("%v = %q, want %q", c.tg, got, c.want)
			}
			if bytes.Contains(out, []byte("ZORGLUBMARK")) {
				t.Error("marker leaked")
			}
		})
	}
	t.Run("uids-consistent-across-files", func(t *testing.T) {
		s2 := s
		s2.SOPUID = s.SOPUID + ".2"
		_, r1, err1 := run(t, in, person(), opts())
		_, r2, err2 := run(t, gen(t, s2), person(), opts())
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if r1.StudyInstanceUID != r2.StudyInstanceUID || r1.SeriesInstanceUID != r2.SeriesInstanceUID || r1.SOPInstanceUID == r2.SOPInstanceUID {
			t.Errorf("uids: %+v %+v", r1, r2)
		}
	})
	t.Run("deterministic", func(t *testing.T) {
		a, _, _ := run(t, in, person(), opts())
		b, _, _ := run(t, in, person(), opts())
		if !bytes.Equal(a, b) {
			t.Error("output differs between runs")
		}
	})
}

// TestPixelsUntouched checks that pixel data passes byte-identical when
// no pixel action applies.
func TestPixelsUntouched(t *testing.T) {
	for _, s := range []synth.DICOMSpec{{Marker: "ZORGLUBMARK"}, {TransferSyntax: synth.ImplicitVRLittleEndian, Frames: 3},
		{TransferSyntax: synth.JPEGBaseline, Frames: 2}, {BitsAllocated: 8, Rows: 31, Cols: 33}} {
		in := gen(t, s)
		out, _, err := run(t, in, person(), opts())
		if err != nil {
			t.Fatal(err)
		}
		if !samePixels(t, in, out) {
			t.Errorf("%+v: pixels changed", s.TransferSyntax)
		}
	}
}

func TestImplicitAndMultiframe(t *testing.T) {
	for _, s := range []synth.DICOMSpec{
		{TransferSyntax: synth.ImplicitVRLittleEndian, Marker: "ZORGLUBMARK"},
		{Modality: "MR", Frames: 4, Marker: "ZORGLUBMARK"},
		{Modality: "CT", TransferSyntax: synth.JPEGBaseline, Frames: 2, Marker: "ZORGLUBMARK"},
	} {
		in := gen(t, s)
		out, _, err := run(t, in, person(), opts())
		if err != nil {
			t.Fatalf("%s: %v", s.TransferSyntax, err)
		}
		assertClean(t, out, []planted{{"marker", "ZORGLUBMARK"}, {"sop uid", "1.2.826.0.1.3680043.10.1561.1.3"}})
		dcmdumpCheck(t, out, []planted{{"marker", "ZORGLUBMARK"}})
	}
}

// TestEmbeddedOverlayBits checks that an overlay stored in the unused high
// bits of 16-bit pixels (retired form) is cleared.
func TestEmbeddedOverlayBits(t *testing.T) {
	us := func(tg uint32, n int) synth.DICOMElement {
		return synth.DICOMElement{Tag: tg, VR: "US", Value: string(make([]byte, n))}
	}
	in := gen(t, synth.DICOMSpec{Rows: 16, Cols: 16, Extra: []synth.DICOMElement{
		us(0x00280101, 12), us(0x00280102, 11), us(0x60000100, 16), us(0x60000102, 12),
		us(0x60000010, 16), us(0x60000011, 16)}})
	px := in[len(in)-16*16*2:]
	for i := 1; i < len(px); i += 8 {
		px[i] |= 0x80 // bit 15: the embedded overlay
	}
	out, res, err := run(t, in, person(), opts())
	if err != nil {
		t.Fatal(err)
	}
	raw, _, _ := pixelsOf(t, out)
	for i := 1; i < len(raw); i += 2 {
		if raw[i]&0xF0 != 0 {
			t.Fatalf("high bits left at %d", i)
		}
	}
	if len(pixelActionsOf(res.Actions)) == 0 {
		t.Errorf("actions %v", res.Actions)
	}
}

// TestCleanDescriptors checks that the Clean Descriptors option keeps
// descriptions through the configured cleaner, and removes them without
// one.
func TestCleanDescriptors(t *testing.T) {
	in := gen(t, synth.DICOMSpec{Extra: []synth.DICOMElement{{Tag: 0x00081030, VR: "LO", Value: "scan of Dubois"}}})
	clean := func(s string, _ masking.Person) string { return strings.ReplaceAll(s, "Dubois", "NAME_OF_BIRTH") }
	for _, c := range []struct {
		name string
		cfg  dcm.Config
		want bool
	}{{"with-cleaner", dcm.Config{Clean: clean}, true}, {"without-cleaner", dcm.Config{}, false}} {
		t.Run(c.name, func(t *testing.T) {
			o := opts()
			o.DICOM = masking.DICOMOptions{RetainLongitudinalModifiedDates: true, CleanDescriptors: true}
			var out bytes.Buffer
			if _, err := dcm.New(c.cfg).Deidentify(context.Background(), &out, bytes.NewReader(in), int64(len(in)), person(), o); err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(out.Bytes(), []byte("Dubois")) {
				t.Fatal("name left")
			}
			if got := bytes.Contains(out.Bytes(), []byte("scan of NAME_OF_BIRTH")); got != c.want {
				t.Errorf("cleaned description present = %v", got)
			}
			if got := bytes.Contains(out.Bytes(), []byte("Clean Descriptors Option")); got != c.want {
				t.Errorf("option code present = %v", got)
			}
		})
	}
}

// TestUndecodedPublicRemoved checks that a public attribute whose value the
// parser cannot decode (VR UN, e.g. a sequence encoded as UN) is removed.
func TestUndecodedPublicRemoved(t *testing.T) {
	in := gen(t, synth.DICOMSpec{Extra: []synth.DICOMElement{{Tag: 0x00081115, VR: "UN", Value: "Dubois^Amelie nested"}}})
	out, res, err := run(t, in, person(), opts())
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(out, []byte("Dubois")) {
		t.Error("undecoded attribute kept")
	}
	t.Log(res.Actions)
}
