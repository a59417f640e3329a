package photo

import "image"

// FindFaces returns the regions the photo path fills for the faces in
// img (issue 20 item 4, SEC-PSE-4): frontal faces with a 25% margin,
// which holds their eyes, and faces in profile either way with a quarter
// of their width on each side, clipped to img. Low-confidence faces are
// included (fail closed), as in photos. It reads img only and is safe for
// concurrent use; masking/dcm uses it for DICOM photographs through its
// PhotoFinder interface.
func (h *Handler) FindFaces(img image.Image) []image.Rectangle {
	faces, _ := h.faces(img)
	return clipped(faces, img.Bounds())
}

// FindCodes returns the regions the photo path fills for the QR codes,
// Data Matrix codes and 1D barcodes that decode in img, each with its
// quiet zone, clipped to img (issue 20 item 5, SEC-PSE-4: wristbands and
// specimen labels encode the patient number). Like FindFaces it reads img
// only, is safe for concurrent use, and serves masking/dcm's PhotoFinder.
func (h *Handler) FindCodes(img image.Image) []image.Rectangle {
	return clipped(h.codes(img), img.Bounds())
}

// clipped returns rs clipped to b, without the empty ones (in place).
func clipped(rs []image.Rectangle, b image.Rectangle) []image.Rectangle {
	out := rs[:0]
	for _, r := range rs {
		if r = r.Intersect(b); !r.Empty() {
			out = append(out, r)
		}
	}
	return out
}
