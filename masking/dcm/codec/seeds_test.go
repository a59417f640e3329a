//go:build dcmcodec

package codec

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestIssue20_SeedsDecode: the fuzz seeds (frames written by gdcm and
// dcmtk) decode, so that fuzzing starts from streams that reach the C
// decoders; lossy ones are reported lossy.
func TestIssue20_SeedsDecode(t *testing.T) {
	for fuzz, decode := range map[string]func(dst, src []byte, s Spec) (Info, error){
		"FuzzJPEG": JPEG, "FuzzJPEG2000": JPEG2000, "FuzzJPEGLS": JPEGLS} {
		files, _ := filepath.Glob(filepath.Join("testdata", "fuzz", fuzz, "seed-*")) // hashes are regressions
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
			info, err := decode(make([]byte, s.FrameLen()), []byte(src), s)
			name := filepath.Base(f)
			if err != nil {
				t.Errorf("%s %s: %v", fuzz, name, err)
			}
			if want := strings.Contains(name, "lossy") || strings.Contains(name, "near") || strings.Contains(name, "extended") || name == "seed-baseline"; info.Lossy != want {
				t.Errorf("%s %s: lossy %v", fuzz, name, info.Lossy)
			}
		}
	}
}
