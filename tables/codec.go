package tables

import (
	"sync"

	"github.com/apache/arrow/go/v17/parquet/compress"
	"github.com/klauspost/compress/zstd"
)

// zstdPages is Parquet's zstd codec with one encoder per level kept for the
// life of the process. Arrow v17's own codec builds a new encoder (and
// allocates and clears its multi-MiB history) for every page it
// compresses at a chosen level: a third of the CPU time of a table write
// and most of its garbage (issue 17: the 100M-row file). Decoding is Arrow's.
type zstdPages struct {
	compress.Codec
	mu  sync.Mutex
	enc map[int]*zstd.Encoder
}

func init() {
	compress.RegisterCodec(compress.Codecs.Zstd, &zstdPages{Codec: arrowZstd(), enc: map[int]*zstd.Encoder{}})
}

// arrowZstd returns Arrow's zstd codec (registered by its package's init).
func arrowZstd() compress.Codec {
	c, err := compress.GetCodec(compress.Codecs.Zstd)
	if err != nil {
		panic(err) // Arrow registers zstd in its init
	}
	return c
}

// encoder returns the shared encoder of a level; EncodeAll is safe for
// concurrent use.
func (z *zstdPages) encoder(level int) *zstd.Encoder {
	z.mu.Lock()
	defer z.mu.Unlock()
	if e, ok := z.enc[level]; ok {
		return e
	}
	l := zstd.SpeedDefault
	if level != compress.DefaultCompressionLevel {
		l = zstd.EncoderLevelFromZstd(level)
	}
	e, err := zstd.NewWriter(nil, zstd.WithZeroFrames(true), zstd.WithEncoderLevel(l))
	if err != nil {
		panic(err) // only for invalid options
	}
	z.enc[level] = e
	return e
}

func (z *zstdPages) Encode(dst, src []byte) []byte {
	return z.encoder(compress.DefaultCompressionLevel).EncodeAll(src, dst[:0])
}

func (z *zstdPages) EncodeLevel(dst, src []byte, level int) []byte {
	return z.encoder(level).EncodeAll(src, dst[:0])
}
