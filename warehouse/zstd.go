package warehouse

import (
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/format"
)

// zstdCodec is the Parquet zstd codec of the table writers. parquet-go's
// own codec keeps its encoders in a sync.Pool, which the collector empties:
// every row group after a collection built new encoders with an 8 MiB
// window, and an ingest's resident memory grew with its length (issue 9:
// 121 MiB with Snappy, 190 MiB with parquet.Zstd at 20,000 files). Here a
// few encoders with a window of one page are kept for the whole process.
// The output is ordinary zstd: readers decode it with any zstd codec.
type zstdCodec struct{ free chan *zstd.Encoder }

// tableZstd is shared by every table writer of the process.
var tableZstd = &zstdCodec{free: make(chan *zstd.Encoder, 4)}

// pageBytes is the page buffer of the table writers (and the encoders'
// window: a page is compressed on its own).
const pageBytes = 1 << 20

func (c *zstdCodec) String() string { return "ZSTD" }

func (c *zstdCodec) CompressionCodec() format.CompressionCodec { return format.Zstd }

func (c *zstdCodec) Encode(dst, src []byte) ([]byte, error) {
	var e *zstd.Encoder
	select {
	case e = <-c.free:
	default:
		var err error
		e, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(pageBytes), zstd.WithZeroFrames(true), zstd.WithEncoderCRC(false), zstd.WithLowerEncoderMem(true))
		if err != nil {
			return nil, err
		}
	}
	out := e.EncodeAll(src, dst[:0])
	select {
	case c.free <- e:
	default:
		e.Close()
	}
	return out, nil
}

func (c *zstdCodec) Decode(dst, src []byte) ([]byte, error) { return parquet.Zstd.Decode(dst, src) }
