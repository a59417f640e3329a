package photo

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"

	"hdw/synth"
)

// refOffsets and refStagesPassed are the profile evaluator as it was
// before its grid points were computed from the cell steps (16 stored
// offsets per feature, one code call per stump): the reference of
// TestIssue20_ProfileEvaluatorMatchesReference.
func refOffsets(c *lbpCascade, k float64, stride int) []int32 {
	var offs []int32
	for _, r := range c.feats {
		x, y := int(float64(r.x)*k+0.5), int(float64(r.y)*k+0.5)
		w, h := max(1, int(float64(r.w)*k+0.5)), max(1, int(float64(r.h)*k+0.5))
		for j := 0; j < 4; j++ {
			for i := 0; i < 4; i++ {
				offs = append(offs, int32((y+j*h)*stride+x+i*w))
			}
		}
	}
	return offs
}

func refStagesPassed(c *lbpCascade, ii []uint32, base int, offs []int32) int {
	cell := func(o []int32, a, b, c, d int) uint32 {
		w := ii[base:]
		return w[o[a]] - w[o[b]] - w[o[c]] + w[o[d]]
	}
	for n, st := range c.stages {
		var sum float32
		for _, w := range st.weak {
			o := offs[w.feat*16:]
			cv := cell(o, 5, 6, 9, 10)
			v := b2i(cell(o, 0, 1, 4, 5) >= cv)<<7 | b2i(cell(o, 1, 2, 5, 6) >= cv)<<6 |
				b2i(cell(o, 2, 3, 6, 7) >= cv)<<5 | b2i(cell(o, 6, 7, 10, 11) >= cv)<<4 |
				b2i(cell(o, 10, 11, 14, 15) >= cv)<<3 | b2i(cell(o, 9, 10, 13, 14) >= cv)<<2 |
				b2i(cell(o, 8, 9, 12, 13) >= cv)<<1 | b2i(cell(o, 4, 5, 8, 9) >= cv)
			if w.subset[v>>5]&(1<<(v&31)) != 0 {
				sum += w.leaf[1]
			} else {
				sum += w.leaf[0]
			}
		}
		if sum < st.thr {
			return n
		}
	}
	return len(c.stages)
}

// TestIssue20_ProfileEvaluatorMatchesReference: the profile evaluator
// and its mirror give, at every window of the profile pass's scan (all
// scales, shift 2 at the cascade's size) of the labeled face set and two
// camera-like photos, the number of stages the reference evaluator
// gives; so profiles finds the same windows.
func TestIssue20_ProfileEvaluatorMatchesReference(t *testing.T) {
	h := New(Config{})
	var imgs []image.Image
	for _, c := range faceSet(t)[:4] {
		imgs = append(imgs, c.img)
	}
	for _, seed := range []uint64{1, 5} {
		var b bytes.Buffer
		if err := synth.JPEG(&b, synth.PhotoSpec{W: 480, H: 360, Camera: true, Seed: seed}); err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(&b)
		if err != nil {
			t.Fatal(err)
		}
		imgs = append(imgs, img)
	}
	windows, faces := 0, 0
	for i, img := range imgs {
		bd := img.Bounds()
		w, ht := bd.Dx(), bd.Dy()
		ii := integral(nil, grayPixels(img), w, ht)
		var sc [2]lbpScaled
		var ref [2][]int32
		for k := 1.0; ; k *= profileScaleStep {
			for d, c := range h.profile {
				c.scale(&sc[d], k, w+1)
				ref[d] = refOffsets(c, k, w+1)
			}
			ww, wh := max(sc[0].w, sc[1].w), max(sc[0].h, sc[1].h)
			if ww > w || wh > ht {
				break
			}
			step := max(1, int(profileShift*k))
			for y := 0; y+wh <= ht; y += step {
				for x := 0; x+ww <= w; x += step {
					for d, c := range h.profile {
						got, want := c.stagesPassed(ii, y*(w+1)+x, &sc[d]), refStagesPassed(c, ii, y*(w+1)+x, ref[d])
						if got != want {
							t.Fatalf("image %d cascade %d scale %.3f window (%d,%d): %d stages, reference %d", i, d, k, x, y, got, want)
						}
						windows++
						faces += b2i(got == len(c.stages))
					}
				}
			}
		}
	}
	if faces == 0 {
		t.Fatal("no window accepted: the comparison shows little")
	}
	t.Logf("%d windows, %d accepted, the same stages passed", windows, faces)
}
