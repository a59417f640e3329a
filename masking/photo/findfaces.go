package photo

import "image"

// FindFaces returns the regions the photo path fills for the faces in
// img (issue 20 item 4, SEC-PSE-4): frontal faces with a 25% margin,
// which holds their eyes, and faces in profile either way with a quarter
// of their width on each side, clipped to img. Low-confidence faces are
// included (fail closed), as in photos. It reads img only and is safe for
// concurrent use; masking/dcm uses it for DICOM photographs through its
// FaceFinder interface.
func (h *Handler) FindFaces(img image.Image) []image.Rectangle {
	faces, _ := h.faces(img)
	b := img.Bounds()
	out := faces[:0]
	for _, r := range faces {
		if r = r.Intersect(b); !r.Empty() {
			out = append(out, r)
		}
	}
	return out
}
