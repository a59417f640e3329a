//go:build !dcmcodec

package codec

import (
	"errors"
	"testing"
)

// TestIssue20_NotBuilt: without the dcmcodec tag a valid header gets
// ErrNotBuilt (transcode then keeps the quarantine naming the codec).
func TestIssue20_NotBuilt(t *testing.T) {
	s := Spec{Rows: 64, Cols: 48, Samples: 1, BitsAllocated: 8}
	if _, err := JPEG(make([]byte, s.FrameLen()), sof(0xC3, 8, 64, 48, 1), s); !errors.Is(err, ErrNotBuilt) {
		t.Errorf("%v", err)
	}
}
