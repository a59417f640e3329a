package photo

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/disintegration/imaging"
)

// TestIssue20_ProfileCascadeParsed: the embedded opencv-data profile
// cascade is read whole (16 stages, 20x34 windows) and damaged or
// oversized files are refused.
func TestIssue20_ProfileCascadeParsed(t *testing.T) {
	c, err := parseLBP(lbpProfileXML)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range c.stages {
		n += len(s.weak)
	}
	if len(c.stages) != 16 || c.w != 20 || c.h != 34 || n == 0 {
		t.Fatalf("%d stages, %dx%d, %d stumps", len(c.stages), c.w, c.h, n)
	}
	for name, b := range map[string][]byte{
		"truncated":   lbpProfileXML[:len(lbpProfileXML)/2],
		"haar":        bytes.Replace(lbpProfileXML, []byte("<featureType>LBP"), []byte("<featureType>HAAR"), 1),
		"feature out": bytes.Replace(lbpProfileXML, []byte("0 1 1 9</rect>"), []byte("19 1 1 9</rect>"), 1),
		"oversized":   append(bytes.Repeat([]byte(" "), lbpMaxBytes), lbpProfileXML...),
		"empty":       nil,
	} {
		if _, err := parseLBP(b); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
}

// TestIssue20_MirroredCascade: the mirrored cascade accepts, in an image,
// exactly the windows the cascade accepts in the image mirrored (random
// textures and the labeled faces, every window at three scales).
func TestIssue20_MirroredCascade(t *testing.T) {
	h := New(Config{})
	r := rand.New(rand.NewPCG(1, 2))
	var imgs [][]uint8
	const w, ht = 96, 80
	for i := 0; i < 3; i++ {
		g := make([]uint8, w*ht)
		for k := range g {
			g[k] = uint8(r.IntN(256))
		}
		imgs = append(imgs, g)
	}
	for _, c := range faceSet(t)[:2] {
		imgs = append(imgs, grayPixels(imaging.Resize(c.img, w, ht, imaging.Box)))
	}
	agree, acc := 0, 0
	for _, g := range imgs {
		m := make([]uint8, len(g))
		for y := 0; y < ht; y++ {
			for x := 0; x < w; x++ {
				m[y*w+x] = g[y*w+w-1-x]
			}
		}
		ig, im := integral(nil, g, w, ht), integral(nil, m, w, ht)
		for _, k := range []float64{1, 1.5, 2} {
			var s0, s1 lbpScaled
			h.profile[0].scale(&s0, k, w+1)
			h.profile[1].scale(&s1, k, w+1)
			ww, wh := max(s0.w, s1.w), max(s0.h, s1.h)
			for y := 0; y+wh <= ht; y++ {
				for x := 0; x+ww <= w; x++ {
					a := h.profile[1].accepts(ig, y*(w+1)+x, &s1)
					b := h.profile[0].accepts(im, y*(w+1)+w-ww-x, &s0)
					if k == 1 && a != b {
						t.Fatalf("window (%d,%d): mirrored cascade %v, cascade on the mirror %v", x, y, a, b)
					}
					if a == b {
						agree++
					}
					if a {
						acc++
					}
				}
			}
		}
	}
	t.Logf("%d windows agree, %d accepted", agree, acc)
}

// FuzzParseLBP: a damaged cascade file is an error, never a panic, and a
// parsed one is within the bounds (every feature inside the window).
func FuzzParseLBP(f *testing.F) {
	f.Add(lbpProfileXML)
	f.Add(lbpProfileXML[:2000])
	f.Add([]byte(`<opencv_storage><cascade><stageType>BOOST</stageType><featureType>LBP</featureType><height>3</height><width>3</width><stageParams><maxDepth>1</maxDepth></stageParams><featureParams><maxCatCount>256</maxCatCount></featureParams><stages><_><stageThreshold>0</stageThreshold><weakClassifiers><_><internalNodes>0 -1 0 1 2 3 4 5 6 7 8</internalNodes><leafValues>1 -1</leafValues></_></weakClassifiers></_></stages><features><_><rect>0 0 1 1</rect></_></features></cascade></opencv_storage>`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseLBP(b)
		if err != nil {
			return
		}
		for _, r := range c.feats {
			if r.x+3*r.w > c.w || r.y+3*r.h > c.h {
				t.Fatalf("feature %v outside the %dx%d window", r, c.w, c.h)
			}
		}
		g := make([]uint8, c.w*c.h)
		ii := integral(nil, g, c.w, c.h)
		var s lbpScaled
		c.scale(&s, 1, c.w+1)
		c.accepts(ii, 0, &s)
		c.mirrored()
	})
}
