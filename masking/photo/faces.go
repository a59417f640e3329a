package photo

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"io"

	pigo "github.com/esimov/pigo/core"

	"hdw/masking"
)

// The pixel masking pass: operator boxes, faces and eyes (pigo cascades).

// masked counts what mask filled: regions (operator boxes, faces,
// codes, words), of which faces (frontal and profile), and eyes.
type masked struct{ regions, faces, eyes int }

func (m masked) add(n masked) masked {
	return masked{m.regions + n.regions, m.faces + n.faces, m.eyes + n.eyes}
}

// actions are the record's counts (masked-faces: SEC-PSE-4, issue 20).
func (m masked) actions() []string {
	return []string{fmt.Sprintf("masked-regions:%d", m.regions), fmt.Sprintf("masked-faces:%d", m.faces), fmt.Sprintf("masked-eyes:%d", m.eyes)}
}

// mask fills faces and their eyes (when o.Faces) and o.Boxes; it returns
// how many regions (boxes and faces), faces and eyes were filled.
func (h *Handler) mask(ctx context.Context, img *image.Image, o masking.Options) (masked, error) {
	var boxes []image.Rectangle
	nEyes, nFaces := 0, 0
	for _, b := range o.Boxes {
		boxes = append(boxes, image.Rect(b.X0, b.Y0, b.X1, b.Y1))
	}
	if o.Faces {
		// One luma image for the three passes (none of them writes it).
		b := (*img).Bounds()
		gp := h.getGray(b.Dx() * b.Dy())
		l := &luma{pix: grayInto(*gp, *img), b: b}
		faces, eyes := h.facesIn(l)
		boxes = append(boxes, faces...)
		nFaces, nEyes = len(faces), len(eyes)
		boxes = append(boxes, eyes...)
		// Barcodes and QR codes are looked for with the faces (the
		// visible-content pass): they encode patient numbers.
		boxes = append(boxes, h.codesIn(l)...)
		words, err := h.textIn(ctx, l, o.OCR)
		h.grays.Put(gp)
		if err != nil {
			return masked{}, err
		}
		boxes = append(boxes, words...)
	}
	if len(boxes) == 0 {
		return masked{}, nil
	}
	rgba := image.NewRGBA((*img).Bounds())
	draw.Draw(rgba, rgba.Bounds(), *img, (*img).Bounds().Min, draw.Src)
	for _, r := range boxes {
		draw.Draw(rgba, r.Intersect(rgba.Bounds()), &image.Uniform{color.Black}, image.Point{}, draw.Src)
	}
	*img = rgba
	return masked{len(boxes) - nEyes, nFaces, nEyes}, ctx.Err()
}

// faces returns face rectangles with a 25% margin (covers eyes and hairline)
// and, inside each face, the two eye regions located with pigo's puploc
// cascade (SEC-PSE-4: faces and eyes are masked). puploc draws random
// perturbations, so eye boxes are clipped to their face box: the filled
// union, hence the output, stays deterministic.
func (h *Handler) faces(img image.Image) (faces, eyes []image.Rectangle) {
	return h.facesIn(&luma{pix: grayPixels(img), b: img.Bounds()})
}

// faceMinWindow is the smallest window the cascade is run with, in pixels
// of the image it runs on (pigo's usual minimum).
const faceMinWindow = 20

// facesIn is faces on the luma l of a photo.
func (h *Handler) facesIn(l *luma) (faces, eyes []image.Rectangle) {
	b := l.b
	gray, cols, rows, f := l.reduced(h.cfg.FaceMaxSide)
	ip := pigo.ImageParams{Pixels: gray, Rows: rows, Cols: cols, Dim: cols}
	minSize := max(faceMinWindow, h.cfg.FaceMinSize/f)
	params := pigo.CascadeParams{MinSize: minSize, MaxSize: min(rows, cols), ShiftFactor: 0.1, ScaleFactor: 1.1, ImageParams: ip}
	offs, _ := h.offsets.Get().(*[]int32)
	if offs == nil {
		offs = new([]int32)
	}
	var dets []pigo.Detection
	dets, *offs = h.faceC.run(params, *offs)
	h.offsets.Put(offs)
	dets = h.face.ClusterDetections(dets, 0.2)
	// at maps a point of the reduced image to the photo.
	at := func(row, col int) image.Point { return image.Pt(b.Min.X+col*f+f/2, b.Min.Y+row*f+f/2) }
	for _, d := range dets {
		if d.Q < faceMinQ {
			continue
		}
		half := (d.Scale*5/8)*f + f/2
		c := at(d.Row, d.Col)
		face := image.Rect(c.X-half, c.Y-half, c.X+half, c.Y+half)
		faces = append(faces, face)
		for _, side := range []float32{-0.185, 0.185} {
			pl := h.eyes.RunDetector(pigo.Puploc{
				Row: d.Row - int(0.085*float32(d.Scale)), Col: d.Col + int(side*float32(d.Scale)),
				Scale: float32(d.Scale) * 0.4, Perturbs: 50,
			}, ip, 0, false)
			if pl.Row <= 0 || pl.Col <= 0 {
				continue
			}
			r := int(float32(d.Scale)*0.12)*f + f/2 // eye half-size around the pupil
			e := at(pl.Row, pl.Col)
			eye := image.Rect(e.X-r, e.Y-r, e.X+r, e.Y+r).Intersect(face)
			if !eye.Empty() {
				eyes = append(eyes, eye)
			}
		}
	}
	// Faces in profile, either way (the reduced image, from
	// ProfileMinSize); their box grows by a quarter on each side (hair,
	// ear, chin).
	for _, r := range h.profiles(gray, cols, rows, max(faceMinWindow, h.cfg.ProfileMinSize/f)) {
		m := r.Dx() / 4
		faces = append(faces, image.Rect(b.Min.X+(r.Min.X-m)*f, b.Min.Y+(r.Min.Y-m)*f, b.Min.X+(r.Max.X+m)*f, b.Min.Y+(r.Max.Y+m)*f))
	}
	return faces, eyes
}

// faceMinQ is the pigo score below which a detection is not taken for a
// face. Low-confidence detections are masked anyway (fail closed): on the
// labeled set (faceeval_internal_test.go) a score of 1 finds the
// half-covered face that 2 to 5 miss, for one false face in five
// face-free photos.
var faceMinQ float32 = 1

// decodeForMasking takes n pixels from the budget and decodes data (a
// lossless copy whose pixels must be examined); it returns the image and
// the release of the pixels.
func (h *Handler) decodeForMasking(ctx context.Context, n int64, data []byte, decode func(io.Reader) (image.Image, error), format string) (image.Image, func(), error) {
	release, err := h.pixels.acquire(ctx, n)
	if err != nil {
		return nil, nil, err
	}
	img, err := decode(bytes.NewReader(data))
	if err != nil {
		release()
		return nil, nil, masking.Quarantine("%s cannot be decoded for masking", format)
	}
	return img, release, nil
}
