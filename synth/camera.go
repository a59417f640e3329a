package synth

import (
	"bytes"
	"image"
	"image/jpeg"
	"math"
)

// cameraQuality is the JPEG quality of camera photos (phones and compact
// cameras write 90 to 95).
const cameraQuality = 90

// cameraPixels encodes a w x h picture that compresses like a camera photo
// (smooth scene, objects with edges, fine detail and sensor noise; about
// 0.3 to 0.5 byte per pixel at quality 90) and its 160 x 120 EXIF
// thumbnail. The picture is deterministic for a seed.
func cameraPixels(w, h int, seed uint64) (enc, thumb []byte, err error) {
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	rng := seed*0x9E3779B97F4A7C15 + 0x2545F4914F6CDD1D
	next := func() uint64 { // xorshift64*
		rng ^= rng >> 12
		rng ^= rng << 25
		rng ^= rng >> 27
		return rng * 0x2545F4914F6CDD1D
	}
	// Scene: separable low-frequency light, plus "objects": 48-pixel cells
	// of random brightness whose edges the encoder must code.
	const cell = 48
	phase := float64(next()%628) / 100
	rowLight := make([]int, w)
	for x := range rowLight {
		rowLight[x] = int(40 * math.Sin(2*math.Pi*1.3*float64(x)/float64(w)+phase))
	}
	colLight := make([]int, h)
	for y := range colLight {
		colLight[y] = 110 + int(30*math.Cos(2*math.Pi*0.9*float64(y)/float64(h)+phase))
	}
	cw, ch := w/cell+2, h/cell+2
	objects := make([]int8, cw*ch)
	for i := range objects {
		objects[i] = int8(int(next()%49) - 24)
	}
	// Fine detail: a 64 x 64 tile of texture (foliage, fabric, skin).
	var tile [64 * 64]int8
	for i := range tile {
		tile[i] = int8(int(next()%29) - 14)
	}
	for y := 0; y < h; y++ {
		row := img.Y[y*img.YStride : y*img.YStride+w]
		base := colLight[y]
		obj := objects[(y/cell)*cw:]
		trow := tile[(y%64)*64:]
		r := next()
		for x := range row {
			if x&7 == 0 {
				r = next()
			}
			noise := int(r>>(uint(x&7)*8)%20) - 10 // sensor noise, -10 to +9
			v := base + rowLight[x] + int(obj[x/cell]) + int(trow[x&63]) + noise
			row[x] = uint8(min(max(v, 0), 255))
		}
	}
	cwid, chgt := (w+1)/2, (h+1)/2
	for y := 0; y < chgt; y++ {
		cb := img.Cb[y*img.CStride : y*img.CStride+cwid]
		cr := img.Cr[y*img.CStride : y*img.CStride+cwid]
		r := next()
		for x := range cb {
			if x&7 == 0 {
				r = next()
			}
			n := int(r>>(uint(x&7)*8)&3) - 1
			cb[x] = uint8(128 + rowLight[min(2*x, w-1)]/4 + n)
			cr[x] = uint8(128 - colLight[min(2*y, h-1)]/8 + int(objects[(2*y/cell)*cw+2*x/cell])/4 + n)
		}
	}
	var b bytes.Buffer
	b.Grow(w * h / 2)
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: cameraQuality}); err != nil {
		return nil, nil, err
	}
	const tw, th = 160, 120
	t := image.NewYCbCr(image.Rect(0, 0, tw, th), image.YCbCrSubsampleRatio420)
	for y := 0; y < th; y++ {
		for x := 0; x < tw; x++ {
			sx, sy := x*w/tw, y*h/th
			t.Y[y*t.YStride+x] = img.Y[sy*img.YStride+sx]
			ci := t.COffset(x, y)
			t.Cb[ci] = img.Cb[img.COffset(sx, sy)]
			t.Cr[ci] = img.Cr[img.COffset(sx, sy)]
		}
	}
	var tb bytes.Buffer
	if err := jpeg.Encode(&tb, t, &jpeg.Options{Quality: 75}); err != nil {
		return nil, nil, err
	}
	return b.Bytes(), tb.Bytes(), nil
}

// makerNote is a camera maker note: vendor header, the owner's name and the
// body serial (what real maker notes carry), padded with binary records to
// a realistic 6 KiB.
func makerNote(p Person) []byte {
	b := []byte("SynthCam\x00\x00\x01\x00")
	b = append(b, "OwnerName\x00"+p.FirstName+" "+p.LastName+"\x00"...)
	b = append(b, "InternalSerialNumber\x00SN"+p.PPI+"\x00"...)
	for i := 0; len(b) < 6<<10; i++ {
		b = append(b, byte(i), byte(i>>8), byte(i*7), 0)
	}
	return b
}
