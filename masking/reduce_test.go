package masking_test

import (
	"testing"

	"hdw/masking"
)

// TestReduceGray: an image within the bound is returned as is; a larger
// one is reduced by the smallest integer factor, each pixel the rounded
// mean of its block.
func TestReduceGray(t *testing.T) {
	g := make([]uint8, 5*3)
	if out, w, h, f := masking.ReduceGray(g, 5, 3, 5); f != 1 || w != 5 || h != 3 || &out[0] != &g[0] {
		t.Fatalf("within bound: %dx%d f=%d", w, h, f)
	}
	for i := range g {
		g[i] = uint8(i * 10)
	}
	out, w, h, f := masking.ReduceGray(g, 5, 3, 2)
	if f != 3 || w != 1 || h != 1 {
		t.Fatalf("5x3 to 2: %dx%d f=%d", w, h, f)
	}
	// Block (0..2, 0..2): values 0,10,20,50,60,70,100,110,120, mean 60.
	if out[0] != 60 {
		t.Fatalf("mean %d, want 60", out[0])
	}
}
