package photo

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"strings"
	"testing"
	"time"

	"github.com/disintegration/imaging"

	"hdw/masking"
)

// TestFacesReducedLargePhoto: a face in a photo larger than FaceMaxSide is
// found on the reduced grey image and masked at its place in the photo.
func TestFacesReducedLargePhoto(t *testing.T) {
	small := readTestImage(t, "pigo-sample-face.jpg")
	// The portrait 3x larger (960x1200), pasted at (500, 300) on a grey
	// canvas of 2600x1800: reduced by 2 for FaceMaxSide 1300.
	big := imaging.Resize(small, 960, 1200, imaging.Lanczos)
	canvas := image.NewRGBA(image.Rect(0, 0, 2600, 1800))
	draw.Draw(canvas, canvas.Bounds(), image.NewUniform(color.Gray{Y: 128}), image.Point{}, draw.Src)
	draw.Draw(canvas, image.Rect(500, 300, 1460, 1500), big, image.Point{}, draw.Src)
	var in bytes.Buffer
	if err := jpeg.Encode(&in, canvas, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	h := New(Config{FaceMaxSide: 1300})
	var out bytes.Buffer
	res, err := h.Deidentify(context.Background(), &out, bytes.NewReader(in.Bytes()), int64(in.Len()), masking.Person{}, masking.Options{Faces: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(res.Actions, " "), "masked-regions:1") {
		t.Fatalf("face not found on the reduced image: %v", res.Actions)
	}
	img, err := jpeg.Decode(&out)
	if err != nil {
		t.Fatal(err)
	}
	// The nose of the sample (160, 220) scaled by 3 and moved by the paste.
	r, g, b, _ := img.At(500+3*160, 300+3*220).RGBA()
	if r > 0x1000 || g > 0x1000 || b > 0x1000 {
		t.Fatalf("face centre not filled: %v", res.Actions)
	}
	if r, _, _, _ := img.At(100, 100).RGBA(); r < 0x6000 {
		t.Fatal("background filled")
	}
}

func TestReduce(t *testing.T) {
	g := []uint8{
		0, 2, 10, 20, 9,
		4, 6, 30, 40, 9,
		9, 9, 9, 9, 9,
	}
	out, w, h, f := masking.ReduceGray(g, 5, 3, 3)
	if f != 2 || w != 2 || h != 1 || out[0] != 3 || out[1] != 25 {
		t.Fatalf("reduce: %v %dx%d f=%d", out, w, h, f)
	}
	if same, _, _, f := masking.ReduceGray(g, 5, 3, 5); f != 1 || &same[0] != &g[0] {
		t.Fatal("no reduction expected")
	}
}

// TestPixelBudget: decodes wait for pixels to be free, a request above the
// budget takes all of it, and a cancelled wait returns the context's error.
func TestPixelBudget(t *testing.T) {
	b := newBudget(100)
	ctx := context.Background()
	r1, err := b.acquire(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan func(), 1)
	go func() {
		r, err := b.acquire(ctx, 1000) // capped to 100: waits for r1
		if err != nil {
			t.Error(err)
		}
		got <- r
	}()
	select {
	case <-got:
		t.Fatal("acquired while 60 of 100 were held")
	case <-time.After(50 * time.Millisecond):
	}
	r1()
	r2 := <-got
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := b.acquire(cctx, 1); err == nil {
		t.Fatal("acquired from an exhausted budget")
	}
	r2()
	if r, err := b.acquire(ctx, 100); err != nil {
		t.Fatal(err)
	} else {
		r()
	}
}
