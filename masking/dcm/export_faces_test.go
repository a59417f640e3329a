package dcm

import "image"

// FaceImageRGB is the grey image the face detector is given for one frame
// of 8-bit interleaved RGB pixels.
func FaceImageRGB(raw []byte, rows, cols int) *image.Gray {
	img, _ := faceImage(&pixels{rows: rows, cols: cols, frames: 1, samples: 3, bitsAlloc: 8, photometric: "RGB", raw: raw}, 0)
	return img
}
