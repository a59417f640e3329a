package dcm_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/frame"
	"github.com/suyashkumar/dicom/pkg/tag"

	"hdw/masking"
	"hdw/masking/dcm"
	"hdw/masking/photo"
	"hdw/synth"
)

// Faces in DICOM photographs (issue 20 item 4): the files are built from
// pigo's MIT sample portrait (testdata/PROVENANCE.md).

const vlPhotoClass = "1.2.840.10008.5.1.4.1.1.77.1.4"

var faceFinder = photo.New(photo.Config{})

// portrait returns the sample portrait as 8-bit interleaved RGB.
func portrait(t testing.TB) (raw []byte, rows, cols int) {
	t.Helper()
	f, err := os.Open("../../testdata/photo/pigo-sample-face.jpg")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return rgbOf(img), img.Bounds().Dy(), img.Bounds().Dx()
}

// rgbOf returns img's pixels as 8-bit interleaved RGB (as the handler
// decodes a JPEG frame).
func rgbOf(img image.Image) []byte {
	b := img.Bounds()
	out := make([]byte, 0, b.Dx()*b.Dy()*3)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			out = append(out, byte(r>>8), byte(g>>8), byte(bl>>8))
		}
	}
	return out
}

// faceFree is a synthetic 8-bit RGB photograph with no face: a gradient.
func faceFree(rows, cols int) []byte {
	out := make([]byte, 0, rows*cols*3)
	for y := 0; y < rows; y++ {
		for x := 0; x < cols; x++ {
			out = append(out, byte(x*255/cols), byte(y*255/rows), 128)
		}
	}
	return out
}

// photoSpec describes a photograph: modality XC or class VL Photographic
// Image, 8-bit RGB native pixels; recognizable, when set, is the file's
// Recognizable Visual Features.
func photoSpec(modality, class string, rgb []byte, rows, cols int, recognizable string) synth.DICOMSpec {
	s := synth.DICOMSpec{Modality: modality, SOPClassUID: class, Rows: rows, Cols: cols, Frames8: [][]byte{rgb},
		Marker: "ZORGLUBMARK", PatientName: "Dubois^Amelie",
		Extra: []synth.DICOMElement{
			{Tag: 0x00280002, VR: "US", Value: "xxx"}, // synth writes the value's length: 3 samples
			{Tag: 0x00280004, VR: "CS", Value: "RGB"},
			{Tag: 0x00280006, VR: "US", Value: ""}, // planar configuration 0
		}}
	if recognizable != "" {
		s.Extra = append(s.Extra, synth.DICOMElement{Tag: 0x00280302, VR: "CS", Value: recognizable})
	}
	return s
}

// photoFile writes a DICOM photograph of rgb (photoSpec): its only
// frame, or with late the last of two after plain; with jpeg its only
// frame as JPEG baseline (asJPEG). It returns the file and the frames a
// reader decodes from it.
func photoFile(t testing.TB, modality, class string, rgb, plain []byte, rows, cols int, late, jpeg bool) (in, want []byte) {
	t.Helper()
	spec := photoSpec(modality, class, rgb, rows, cols, "")
	if late {
		spec.Frames8 = [][]byte{plain, rgb}
	}
	in = gen(t, spec)
	want = slices.Concat(spec.Frames8...)
	if jpeg {
		in, want = asJPEG(t, in, rgb, rows, cols)
	}
	return in, want
}

// asJPEG rewrites a native RGB file with its frame as one JPEG baseline
// (YBR_FULL_422) fragment, and returns the file with the RGB pixels the
// handler decodes from it.
func asJPEG(t testing.TB, in []byte, rgb []byte, rows, cols int) ([]byte, []byte) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, cols, rows))
	for i := 0; i < rows*cols; i++ {
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = rgb[3*i], rgb[3*i+1], rgb[3*i+2], 255
	}
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, img, &jpeg.Options{Quality: 92}); err != nil {
		t.Fatal(err)
	}
	dec, err := jpeg.Decode(bytes.NewReader(jb.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	ds, err := dicom.Parse(bytes.NewReader(in), int64(len(in)), nil, dicom.SkipProcessingPixelDataValue())
	if err != nil {
		t.Fatal(err)
	}
	data := jb.Bytes()
	if len(data)%2 == 1 {
		data = append(data, 0)
	}
	set := func(tg tag.Tag, vr string, v any) {
		val, err := dicom.NewValue(v)
		if err != nil {
			t.Fatal(err)
		}
		e := &dicom.Element{Tag: tg, ValueRepresentation: tag.GetVRKind(tg, vr), RawValueRepresentation: vr, Value: val}
		if tg == tag.PixelData {
			e.ValueLength = tag.VLUndefinedLength
		}
		for i, x := range ds.Elements {
			if x.Tag == tg {
				ds.Elements[i] = e
				return
			}
		}
		t.Fatalf("no %v", tg)
	}
	set(tag.TransferSyntaxUID, "UI", []string{synth.JPEGBaseline})
	set(tag.PhotometricInterpretation, "CS", []string{"YBR_FULL_422"})
	set(tag.PixelData, "OB", dicom.PixelDataInfo{IsEncapsulated: true,
		Frames: []*frame.Frame{{Encapsulated: true, EncapsulatedData: frame.EncapsulatedFrame{Data: data}}}})
	var out bytes.Buffer
	if err := dicom.Write(&out, ds, dicom.SkipVRVerification()); err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), rgbOf(dec)
}

// deidPhoto de-identifies in with the photo face finder, faces on and an
// OCR that finds no text.
func deidPhoto(t *testing.T, cfg dcm.Config, in []byte) ([]byte, masking.Result, error) {
	t.Helper()
	o := opts()
	o.Faces, o.OCR = true, &fakeOCR{}
	var out bytes.Buffer
	res, err := dcm.New(cfg).Deidentify(context.Background(), &out, bytes.NewReader(in), int64(len(in)), person(), o)
	return out.Bytes(), res, err
}

// TestSEC_PSE_4_DICOMPhotoFacesMasked: the face of a DICOM photograph
// (XC, VL Photographic Image; native RGB and JPEG baseline) is filled,
// every pixel outside the detected faces is unchanged (the decoded ones
// for JPEG), the record counts the face, Recognizable Visual Features
// becomes NO, and dcmdump reads the output.
func TestSEC_PSE_4_DICOMPhotoFacesMasked(t *testing.T) {
	rgb, rows, cols := portrait(t)
	for _, c := range []struct {
		name, modality, class string
		jpeg                  bool
	}{
		{"xc-native", "XC", "", false},
		{"vl-native", "XC", vlPhotoClass, false},
		{"vl-jpeg-baseline", "XC", vlPhotoClass, true},
		{"vl-class-only-native", "OT", vlPhotoClass, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := gen(t, photoSpec(c.modality, c.class, rgb, rows, cols, "YES"))
			want := rgb
			if c.jpeg {
				in, want = asJPEG(t, in, rgb, rows, cols)
			}
			out, res, err := deidPhoto(t, dcm.Config{Faces: faceFinder}, in)
			if err != nil {
				t.Fatal(err)
			}
			faces := faceFinder.FindFaces(dcm.FaceImageRGB(want, rows, cols))
			if len(faces) == 0 {
				t.Fatal("the detector finds no face in the input")
			}
			if !slices.Contains(res.Actions, fmt.Sprintf("masked-faces:%d", len(faces))) || !slices.Contains(res.Actions, "pixels:faces") {
				t.Errorf("actions %v do not count %d faces", res.Actions, len(faces))
			}
			raw, orows, ocols := pixelsOf(t, out)
			if orows != rows || ocols != cols || len(raw) < rows*cols*3 {
				t.Fatalf("output %dx%d, %d bytes", ocols, orows, len(raw))
			}
			inFace, changedOut := 0, 0
			for y := 0; y < rows; y++ {
				for x := 0; x < cols; x++ {
					i := 3 * (y*cols + x)
					px, src := raw[i:i+3], want[i:i+3]
					if slices.ContainsFunc(faces, image.Pt(x, y).In) {
						inFace++
						if px[0]|px[1]|px[2] != 0 {
							t.Fatalf("pixel (%d,%d) inside a face not filled", x, y)
						}
					} else if !bytes.Equal(px, src) {
						changedOut++
					}
				}
			}
			if changedOut != 0 || inFace == 0 {
				t.Errorf("%d pixels changed outside the faces, %d inside", changedOut, inFace)
			}
			if n := raw[3*(220*cols+160)]; n != 0 {
				t.Error("the nose is not filled")
			}
			if v := firstValue(t, out, tag.RecognizableVisualFeatures); v != "NO" {
				t.Errorf("recognizable visual features %q, want NO", v)
			}
			if v := firstValue(t, out, tag.TransferSyntaxUID); v != synth.ExplicitVRLittleEndian {
				t.Errorf("transfer syntax %q, want native explicit little endian", v)
			}
			if !strings.Contains(strings.Join(methods(t, out), ";"), "Clean Recognizable Visual Features Option") {
				t.Error("no Clean Recognizable Visual Features Option in the method")
			}
			dcmdumpCheck(t, out, []planted{{"patient name", "Dubois"}, {"marker", "ZORGLUBMARK"}})
		})
	}
}

// methods returns the Deidentification Method values of out.
func methods(t *testing.T, out []byte) []string {
	ds := parseOut(t, out)
	e, err := ds.FindElementByTag(tag.DeidentificationMethod)
	if err != nil {
		return nil
	}
	return dicom.MustGetStrings(e.Value)
}

// TestIssue20_DICOMPhotoWithoutFace: a face-free VL photograph is stored
// unchanged with the action "faces: none found"; declaring Recognizable
// Visual Features YES, it is quarantined (fail closed), as is any image
// declaring it (a CT volume rendering) where no face is found; one where a
// face is found is masked without OCR.
func TestIssue20_DICOMPhotoWithoutFace(t *testing.T) {
	const rows, cols = 120, 160
	plain := faceFree(rows, cols)
	cfg := dcm.Config{Faces: faceFinder}

	out, res, err := deidPhoto(t, cfg, gen(t, photoSpec("XC", vlPhotoClass, plain, rows, cols, "")))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(res.Actions, dcm.ActionFacesNone) || !slices.Contains(res.Actions, dcm.ActionOCRNoText) {
		t.Errorf("actions %v", res.Actions)
	}
	if raw, _, _ := pixelsOf(t, out); !bytes.Equal(raw[:len(plain)], plain) {
		t.Error("pixels of a face-free photograph changed")
	}
	if v := firstValue(t, out, tag.RecognizableVisualFeatures); v == "NO" {
		t.Error("recognizable visual features set to NO though no face was masked")
	}

	_, _, err = deidPhoto(t, cfg, gen(t, photoSpec("XC", vlPhotoClass, plain, rows, cols, "YES")))
	wantQuarantine(t, err, "no face found")

	gray := make([]byte, rows*cols)
	for i := range gray {
		gray[i] = byte(40 + i%60)
	}
	ct := synth.DICOMSpec{Modality: "CT", Rows: rows, Cols: cols, Frames8: [][]byte{gray},
		Extra: []synth.DICOMElement{{Tag: 0x00280302, VR: "CS", Value: "YES"}}}
	_, _, err = deidPhoto(t, cfg, gen(t, ct))
	wantQuarantine(t, err, "no face found")
	_, _, err = deidPhoto(t, dcm.Config{}, gen(t, ct))
	wantQuarantine(t, err, "no face detector")

	rgb, prow, pcol := portrait(t)
	luma := make([]byte, prow*pcol)
	for i := range luma {
		luma[i] = color.GrayModel.Convert(color.RGBA{rgb[3*i], rgb[3*i+1], rgb[3*i+2], 255}).(color.Gray).Y
	}
	ct = synth.DICOMSpec{Modality: "CT", Rows: prow, Cols: pcol, Frames8: [][]byte{luma},
		Extra: []synth.DICOMElement{{Tag: 0x00280302, VR: "CS", Value: "YES"}}}
	out, res, err = deidPhoto(t, cfg, gen(t, ct))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(res.Actions, func(a string) bool { return strings.HasPrefix(a, "masked-faces:") }) {
		t.Errorf("actions %v", res.Actions)
	}
	if raw, _, _ := pixelsOf(t, out); raw[220*pcol+160] != 0 {
		t.Error("the face of a rendering declaring recognizable features is not filled")
	}
}

// TestIssue20_DICOMPhotoStrictOrNoDetector: the strict profile keeps the
// quarantine of every photograph without operator boxes, and without a
// face detector (or with faces turned off) a photograph is quarantined as
// before.
func TestIssue20_DICOMPhotoStrictOrNoDetector(t *testing.T) {
	rgb, rows, cols := portrait(t)
	in := gen(t, photoSpec("XC", vlPhotoClass, rgb, rows, cols, ""))
	_, _, err := deidPhoto(t, dcm.Config{Faces: faceFinder, StrictNoText: true}, in)
	wantQuarantine(t, err, "recognizable features")
	_, _, err = deidPhoto(t, dcm.Config{}, in)
	wantQuarantine(t, err, "recognizable features")
	o := opts()
	o.OCR = &fakeOCR{}
	_, err = dcm.New(dcm.Config{Faces: faceFinder}).Deidentify(context.Background(), &bytes.Buffer{}, bytes.NewReader(in), int64(len(in)), person(), o)
	wantQuarantine(t, err, "recognizable features")
}

// BenchmarkIssue20_DICOMPhoto measures a DICOM photograph through the face
// pass (an OCR finding nothing), and, for comparison, the same file with
// operator boxes and no face pass: the portrait (320x400) and a 2 MP
// face-free photograph (1632x1224), native RGB.
func BenchmarkIssue20_DICOMPhoto(b *testing.B) {
	rgb, rows, cols := portrait(b)
	files := map[string][]byte{
		"portrait": gen(b, photoSpec("XC", vlPhotoClass, rgb, rows, cols, "")),
		"2MP":      gen(b, photoSpec("XC", vlPhotoClass, faceFree(1224, 1632), 1224, 1632, "")),
	}
	for _, name := range []string{"portrait", "2MP"} {
		b.Run(name+"/faces", func(b *testing.B) {
			benchFileWith(b, dcm.New(dcm.Config{Faces: faceFinder}), files[name], func(o *optsT) { o.Faces, o.OCR = true, &fakeOCR{} })
		})
		b.Run(name+"/boxes", func(b *testing.B) {
			benchFileWith(b, dcm.New(dcm.Config{}), files[name], func(o *optsT) { o.Boxes = []masking.Box{{X0: 0, Y0: 0, X1: 8, Y1: 8}} })
		})
	}
}

// TestIssue20_DICOMPhotoMultiFrame: a face found in one frame is filled
// on every frame (the union, as for text), and the record counts it.
func TestIssue20_DICOMPhotoMultiFrame(t *testing.T) {
	rgb, rows, cols := portrait(t)
	spec := photoSpec("XC", vlPhotoClass, nil, rows, cols, "")
	spec.Frames8 = [][]byte{faceFree(rows, cols), rgb}
	out, res, err := deidPhoto(t, dcm.Config{Faces: faceFinder}, gen(t, spec))
	if err != nil {
		t.Fatal(err)
	}
	faces := faceFinder.FindFaces(dcm.FaceImageRGB(rgb, rows, cols))
	if !slices.Contains(res.Actions, fmt.Sprintf("masked-faces:%d", len(faces))) {
		t.Errorf("actions %v, want %d faces", res.Actions, len(faces))
	}
	raw, _, _ := pixelsOf(t, out)
	frame := rows * cols * 3
	for f := 0; f < 2; f++ {
		if i := f*frame + 3*(220*cols+160); raw[i]|raw[i+1]|raw[i+2] != 0 {
			t.Errorf("frame %d: the face region is not filled", f)
		}
	}
	if !bytes.Equal(raw[:3], spec.Frames8[0][:3]) {
		t.Error("frame 0 changed outside the face")
	}
}

// FuzzIssue20_DICOMPhoto checks the face and code pass on mutated
// photographs (one frame or a short video): it never panics, every error
// is a quarantine or a rejection, every output parses.
func FuzzIssue20_DICOMPhoto(f *testing.F) {
	plain := faceFree(24, 32)
	native := gen(f, photoSpec("XC", vlPhotoClass, plain, 24, 32, ""))
	declared := gen(f, photoSpec("CT", "", plain, 24, 32, "YES"))
	jpg, _ := asJPEG(f, native, plain, 24, 32)
	video := photoSpec("XC", "", nil, 24, 32, "")
	video.Frames8 = [][]byte{plain, noisy(24, 32, 1), faceFree(24, 32)}
	for _, b := range [][]byte{native, declared, jpg, gen(f, video)} {
		f.Add(b)
	}
	h := dcm.New(dcm.Config{Faces: faceFinder})
	f.Fuzz(func(t *testing.T, in []byte) {
		o := opts()
		o.Faces, o.OCR, o.MaxPixels = true, &fakeOCR{}, 1<<16
		var out bytes.Buffer
		if _, err := h.Deidentify(context.Background(), &out, bytes.NewReader(in), int64(len(in)), person(), o); err != nil {
			if !masking.IsQuarantine(err) && !masking.IsReject(err) {
				t.Fatalf("error is neither a quarantine nor a rejection: %v", err)
			}
			return
		}
		parseOut(t, out.Bytes())
	})
}
