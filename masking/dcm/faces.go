package dcm

import (
	"fmt"
	"image"

	"github.com/suyashkumar/dicom/pkg/tag"

	"hdw/masking"
)

// Faces and codes in DICOM photographs (issue 20 items 4 and 5,
// SEC-PSE-4): external-camera photographs (modality XC, VL Photographic
// Image Storage) and every image that declares Recognizable Visual
// Features YES are decoded and searched by [Config].Faces for faces and
// for barcodes and QR codes (a wristband or a specimen label encodes the
// patient number): the first, middle and last frames and every frame whose
// content changed (faces_frames.go); the union of the faces and the union
// of the codes found are filled on every frame, before burned-in text is
// looked for.

// PhotoFinder locates in an image what the photo path masks: faces, and
// the barcodes and QR codes that decode. Each method returns the regions
// to fill (with their margins or quiet zones), inside the image's bounds.
// masking/photo's Handler implements it: DICOM photographs get the
// detectors photos get (masking/dcm does not import masking/photo).
type PhotoFinder interface {
	FindFaces(img image.Image) []image.Rectangle
	FindCodes(img image.Image) []image.Rectangle
}

// ActionFacesNone is the action of a DICOM photograph in which no face
// was found (and which does not declare recognizable visual features).
const ActionFacesNone = "faces: none found"

// vlPhotographic is the SOP class of VL Photographic Image Storage.
const vlPhotographic = "1.2.840.10008.5.1.4.1.1.77.1.4"

// reasonPhotograph is the quarantine of a photograph whose faces are not
// looked for (no detector, or the strict profile) and that has no operator
// boxes.
const reasonPhotograph = "visible light photograph may show recognizable features"

// recognizableNo is set once faces were filled.
var recognizableNo = elem(tag.RecognizableVisualFeatures, "CS", []string{"NO"})

// photograph reports whether the file is an external-camera photograph.
func (d *deid) photograph() bool {
	return d.modality == "XC" || d.sopClass == vlPhotographic
}

// lookForFaces reports whether faces are looked for in px, or quarantines
// the file when they must be and cannot be: a photograph or an image
// declaring recognizable visual features, with no face detector (or faces
// turned off) and no operator boxes. The strict profile
// ([Config].StrictNoText) keeps the quarantine of every photograph without
// operator boxes.
func (d *deid) lookForFaces(px *pixels) (bool, error) {
	photo, declared := d.photograph(), px.recognizable == "YES"
	if !photo && !declared {
		return false, nil
	}
	boxes := len(d.o.Boxes) > 0
	switch {
	case photo && d.cfg.StrictNoText && !boxes:
		return false, masking.Quarantine(reasonPhotograph)
	case d.cfg.Faces != nil && d.o.Faces:
		return true, nil
	case boxes:
		// The operator's boxes are masked, as before faces were looked for.
		return false, nil
	case photo:
		return false, masking.Quarantine(reasonPhotograph)
	}
	return false, masking.Quarantine("recognizable visual features declared and no face detector configured")
}

// maskFaces fills, on every frame of native pixels, the faces and the
// barcodes and QR codes found in any frame searched (faces_frames.go:
// first, middle, last, and every frame whose content changed), counts them in the record and,
// once faces were filled, sets Recognizable Visual Features to NO. With no
// face found, a file that declares recognizable visual features (and has
// no operator boxes) is quarantined (fail closed), codes or not; another
// is recorded as [ActionFacesNone].
func (d *deid) maskFaces(px *pixels) error {
	var faces, codes []masking.Box
	frames := newFrameSampler(px.cols, px.rows, px.frames)
	for f := 0; f < px.frames; f++ {
		img, err := faceImage(px, f)
		if err != nil {
			return err
		}
		if !frames.search(f, img.Pix) {
			continue
		}
		faces = appendBoxes(faces, d.cfg.Faces.FindFaces(img), img.Bounds())
		codes = appendBoxes(codes, d.cfg.Faces.FindCodes(img), img.Bounds())
	}
	if len(faces) == 0 && px.recognizable == "YES" && len(d.o.Boxes) == 0 {
		return masking.Quarantine("recognizable visual features declared but no face found")
	}
	if len(codes) > 0 {
		blank(px, codes)
		d.actions = append(d.actions, "pixels:codes", fmt.Sprintf("masked-codes:%d", len(codes)))
	}
	if len(faces) == 0 {
		d.actions = append(d.actions, ActionFacesNone)
		return nil
	}
	blank(px, faces)
	// "pixels:faces" as every pixel edit of this package; the count as in
	// photos.
	d.actions = append(d.actions, "pixels:faces", fmt.Sprintf("masked-faces:%d", len(faces)))
	d.replaced = append(d.replaced, recognizableNo)
	return nil
}

// appendBoxes appends to boxes the regions rs, clipped to b.
func appendBoxes(boxes []masking.Box, rs []image.Rectangle, b image.Rectangle) []masking.Box {
	for _, r := range rs {
		if r = r.Intersect(b); !r.Empty() {
			boxes = append(boxes, masking.Box{X0: r.Min.X, Y0: r.Min.Y, X1: r.Max.X, Y1: r.Max.Y})
		}
	}
	return boxes
}

// facesMasked reports whether faces were filled (Clean Recognizable Visual
// Features Option).
func (d *deid) facesMasked() bool {
	for _, e := range d.replaced {
		if e == recognizableNo {
			return true
		}
	}
	return false
}

// faceImage returns frame f of native pixels as an 8-bit grey image for
// the face detector: monochrome, palette and RGB through render8, YBR_FULL
// (8 bits) from its luma. Other colour models are not read: quarantined.
func faceImage(px *pixels, f int) (*image.Gray, error) {
	n := px.rows * px.cols
	img := &image.Gray{Stride: px.cols, Rect: image.Rect(0, 0, px.cols, px.rows)}
	switch {
	case px.samples == 1 || px.photometric == "RGB":
		img.Pix = render8(px, f)
	case px.photometric == "YBR_FULL" && px.bitsAlloc == 8:
		base := f * n * 3
		img.Pix = make([]byte, n)
		for i := range img.Pix {
			if px.planar == 0 {
				img.Pix[i] = px.raw[base+3*i]
			} else {
				img.Pix[i] = px.raw[base+i]
			}
		}
	default:
		return nil, masking.Quarantine("recognizable visual features: colour model not supported for face detection")
	}
	return img, nil
}
