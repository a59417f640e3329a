//go:build dcmcodec

package codec

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestIssue20_SeedsDecode: the fuzz seeds (frames written by gdcm and
// dcmtk, and a JP2 file by OpenJPEG's opj_compress) decode, so that fuzzing starts from streams that reach the C
// decoders; lossy ones are reported lossy.
func TestIssue20_SeedsDecode(t *testing.T) {
	for _, sd := range seeds(t) {
		dst := make([]byte, sd.spec.FrameLen())
		info, err := sd.decode(dst, sd.src, sd.spec)
		if err != nil {
			t.Errorf("%s: %v", sd.name, err)
		}
		if strings.HasSuffix(sd.name, "seed-jp2-lossless8") {
			// A JP2 file written by opj_compress from a gradient.
			for i, v := range dst {
				if x, y := i%24, i/24; v != byte((x*7+y*11)%256) {
					t.Fatalf("%s: pixel (%d,%d) is %d", sd.name, x, y, v)
				}
			}
		}
		n := sd.name
		if want := strings.Contains(n, "lossy") || strings.Contains(n, "near") || strings.Contains(n, "extended") || strings.HasSuffix(n, "seed-baseline"); info.Lossy != want {
			t.Errorf("%s: lossy %v", n, info.Lossy)
		}
	}
}

// TestIssue20_ConcurrentDecode: the decoders hold no shared state (the
// pipeline decodes in several workers at once): every seed decoded by 8
// goroutines at once gives the same frame as alone.
func TestIssue20_ConcurrentDecode(t *testing.T) {
	for _, sd := range seeds(t) {
		want := make([]byte, sd.spec.FrameLen())
		if _, err := sd.decode(want, sd.src, sd.spec); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan string, 8)
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 20; i++ {
					got := make([]byte, len(want))
					if _, err := sd.decode(got, sd.src, sd.spec); err != nil || !bytes.Equal(got, want) {
						errs <- sd.name
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for n := range errs {
			t.Errorf("%s: concurrent decode differs", n)
		}
	}
}

type seed struct {
	name   string
	src    []byte
	spec   Spec
	decode func(dst, src []byte, s Spec) (Info, error)
}

// seeds reads the named fuzz seeds (16x24 frames written by gdcm and
// dcmtk; hash-named entries are regressions, not decodable).
func seeds(t *testing.T) []seed {
	t.Helper()
	var out []seed
	for fuzz, decode := range map[string]func(dst, src []byte, s Spec) (Info, error){
		"FuzzJPEG": JPEG, "FuzzJPEG2000": JPEG2000, "FuzzJPEGLS": JPEGLS} {
		files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", fuzz, "seed-*"))
		if len(files) == 0 {
			t.Fatalf("no seeds for %s", fuzz)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(string(b), "\n")
			src, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "[]byte("), ")"))
			if err != nil {
				t.Fatal(err)
			}
			s := Spec{Rows: 16, Cols: 24, Samples: 1, BitsAllocated: 8}
			if lines[5] == "bool(true)" {
				s.BitsAllocated = 16
			}
			out = append(out, seed{fuzz + "/" + filepath.Base(f), []byte(src), s, decode})
		}
	}
	return out
}
