package tables

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"

	"github.com/apache/arrow/go/v17/parquet/compress"
)

// TestIssue17_ZstdPagesReuseEncoder: compressing a page at a chosen level
// reuses one encoder (Arrow v17's codec built one per page, allocating its
// multi-MiB history each time: half the CPU of writing the 100M-row
// bench file), and the pages still decode with Arrow's decoder.
func TestIssue17_ZstdPagesReuseEncoder(t *testing.T) {
	c, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	for i := page.Len(); page.Len() < 256<<10; i++ {
		fmt.Fprintf(&page, "%d,", i%1000)
	}
	src := page.Bytes()
	dst := make([]byte, c.CompressBound(int64(len(src))))
	c.EncodeLevel(dst, src, 1) // the first call builds the encoder
	const pages = 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range pages {
		out := c.EncodeLevel(dst, src, 1)
		if got := c.Decode(nil, out); !bytes.Equal(got, src) {
			t.Fatal("a page does not decode to its bytes")
		}
	}
	runtime.ReadMemStats(&after)
	// The decoded copies are 20 x 256 KiB; a fresh encoder per page added
	// several MiB each.
	if per := (after.TotalAlloc - before.TotalAlloc) / pages; per > 1<<20 {
		t.Errorf("%d bytes allocated per compressed page, want < 1 MiB (one encoder per level, reused)", per)
	}
}
