package tables

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/apache/arrow/go/v17/parquet"
	"github.com/apache/arrow/go/v17/parquet/file"
	"github.com/apache/arrow/go/v17/parquet/pqarrow"
)

// errPageLayout is a column chunk whose pages pageValues does not decode
// (levels other than RLE, repeated values, an encoding other than PLAIN or
// dictionary): the caller reads it with the general reader instead.
var errPageLayout = errors.New("tables: page layout not decoded here")

// pageValues holds one data page of a flat byte-array column, decoded:
// each row's definition level (1: a value, 0: null; all 1 for a required
// column) and its non-null values, as indices into the chunk's dictionary
// (dictionary-encoded pages) or as plain values aliasing the page (valid
// until the next page).
type pageValues struct {
	dict    []byte   // the chunk's dictionary page's values (copied)
	dictS   []uint32 // where each dictionary value starts in dict (its length just before)
	hasDict bool     // the chunk has a dictionary page (read)
	defs    []int32  // per row of the page
	idx     []int32  // dictionary-encoded page: per value
	data    []byte   // plain page: its values' bytes
	plain   []uint32 // plain page: where each value starts in data (its length just before)
	isIdx   bool     // this page's values are idx, else plain
	full    bool     // every row of the page has a value (defs all 1)
}

// value is plain value i (valid until the next page).
func (p *pageValues) value(i int) []byte {
	s := p.plain[i]
	return p.data[s : s+binary.LittleEndian.Uint32(p.data[s-4:])]
}

// dictLen is the number of dictionary values.
func (p *pageValues) dictLen() int { return len(p.dictS) }

// dictValue is dictionary value i (valid during the walk of the chunk).
func (p *pageValues) dictValue(i int) []byte {
	s := p.dictS[i]
	return p.dict[s : s+binary.LittleEndian.Uint32(p.dict[s-4:])]
}

// walkPages decodes the data pages of the flat byte-array column leaf of
// row group rg in turn, calling fn with each one's values (rows: the
// page's), and checks that they hold the row group's rows. ok is false
// without an error when a page is not one it decodes, or fn returned
// errPageLayout: the caller reads the column otherwise. Errors are a
// malformed file's, or fn's.
func walkPages(fr *pqarrow.FileReader, rg, leaf int, fn func(p *pageValues, rows int) error) (ok bool, err error) {
	err = pages(fr, rg, leaf, fn)
	if errors.Is(err, errPageLayout) {
		return false, nil
	}
	return err == nil, err
}

func pages(fr *pqarrow.FileReader, rg, leaf int, fn func(p *pageValues, rows int) error) error {
	rgr := fr.ParquetReader().RowGroup(rg)
	want, seen := rgr.NumRows(), int64(0)
	descr := fr.ParquetReader().MetaData().Schema.Column(leaf)
	if descr.PhysicalType() != parquet.Types.ByteArray || descr.MaxRepetitionLevel() != 0 || descr.MaxDefinitionLevel() > 1 {
		return errPageLayout
	}
	optional := descr.MaxDefinitionLevel() == 1
	pr, err := rgr.GetColumnPageReader(leaf)
	if err != nil {
		return err
	}
	// The decoders' buffers are reused from chunk to chunk (the readers
	// of a Parallel read each take their own).
	p := pagePool.Get().(*pageValues)
	defer func() {
		p.data = nil
		pagePool.Put(p)
	}()
	p.dict, p.dictS, p.hasDict = p.dict[:0], p.dictS[:0], false
	for pr.Next() {
		var data []byte
		n := int(pr.Page().NumValues())
		switch pg := pr.Page().(type) {
		case *file.DictionaryPage:
			if p.hasDict || (parquet.Encoding(pg.Encoding()) != parquet.Encodings.Plain && parquet.Encoding(pg.Encoding()) != parquet.Encodings.PlainDict) {
				return errPageLayout
			}
			// One copy of the page (the reader reuses its buffer), not
			// one allocation per value.
			p.dict, p.hasDict = append(p.dict[:0], pg.Data()...), true
			if p.dictS, err = plainValues(p.dict, n, p.dictS); err != nil {
				return err
			}
			continue
		case *file.DataPageV1:
			data = pg.Data()
			if optional {
				if pg.DefinitionLevelEncoding() != parquet.Encodings.RLE || len(data) < 4 {
					return errPageLayout
				}
				l := binary.LittleEndian.Uint32(data)
				if uint64(l) > uint64(len(data)-4) {
					return fmt.Errorf("page levels of %d bytes in a page of %d", l, len(data))
				}
				if p.defs, err = hybrid(data[4:4+l], 1, n, p.defs); err != nil {
					return err
				}
				data = data[4+l:]
			}
		case *file.DataPageV2:
			data = pg.Data()
			dl := int(pg.DefinitionLevelByteLen())
			if pg.RepetitionLevelByteLen() != 0 || dl > len(data) || dl < 0 {
				return errPageLayout
			}
			if optional {
				if p.defs, err = hybrid(data[:dl], 1, n, p.defs); err != nil {
					return err
				}
			}
			data = data[dl:]
		default:
			continue
		}
		if !optional {
			p.defs = ones(p.defs, n)
		}
		nv := 0
		for _, d := range p.defs {
			if d > 1 {
				return fmt.Errorf("definition level %d over 1", d)
			}
			nv += int(d)
		}
		p.full = nv == len(p.defs)
		switch parquet.Encoding(pr.Page().Encoding()) {
		case parquet.Encodings.Plain:
			p.isIdx, p.data = false, data
			if p.plain, err = plainValues(data, nv, p.plain); err != nil {
				return err
			}
		case parquet.Encodings.RLEDict, parquet.Encodings.PlainDict:
			p.isIdx = true
			if !p.hasDict || len(data) < 1 {
				return fmt.Errorf("dictionary-encoded page without a dictionary")
			}
			if p.idx, err = hybrid(data[1:], int(data[0]), nv, p.idx); err != nil {
				return err
			}
			for _, i := range p.idx {
				if i < 0 || int(i) >= len(p.dictS) {
					return fmt.Errorf("dictionary index %d of %d", i, len(p.dictS))
				}
			}
		default:
			return errPageLayout
		}
		if seen += int64(n); seen > want {
			return fmt.Errorf("column %d of row group %d: over %d rows", leaf, rg, want)
		}
		if err := fn(p, n); err != nil {
			return err
		}
	}
	if err := pr.Err(); err != nil {
		return err
	}
	if seen != want {
		return fmt.Errorf("column %d of row group %d: %d of %d rows", leaf, rg, seen, want)
	}
	return nil
}

var pagePool = sync.Pool{New: func() any { return &pageValues{} }}

func ones(s []int32, n int) []int32 {
	s = s[:0]
	for range n {
		s = append(s, 1)
	}
	return s
}

// plainValues finds n PLAIN byte arrays (a 4-byte little-endian length,
// then the bytes) in data: where each one's bytes start, into out
// (reused).
func plainValues(data []byte, n int, out []uint32) ([]uint32, error) {
	if len(data) > math.MaxUint32 {
		return nil, errPageLayout
	}
	out = out[:0]
	at := uint64(0)
	for range n {
		if uint64(len(data))-at < 4 {
			return nil, fmt.Errorf("byte array values cut short")
		}
		l := uint64(binary.LittleEndian.Uint32(data[at:]))
		if l > uint64(len(data))-at-4 {
			return nil, fmt.Errorf("byte array of %d bytes in %d", l, uint64(len(data))-at-4)
		}
		out = append(out, uint32(at+4))
		at += 4 + l
	}
	return out, nil
}

// hybrid decodes n values of width bits (at most 32) of Parquet's
// RLE/bit-packing hybrid encoding from data into out (reused).
func hybrid(data []byte, width, n int, out []int32) ([]int32, error) {
	if width < 0 || width > 32 {
		return nil, fmt.Errorf("bit width %d", width)
	}
	if cap(out) < n {
		out = make([]int32, 0, n)
	}
	out = out[:0]
	for len(out) < n {
		h, k := binary.Uvarint(data)
		if k <= 0 {
			return nil, fmt.Errorf("hybrid run header cut short (%d of %d values)", len(out), n)
		}
		data = data[k:]
		if h&1 == 0 {
			// A run of one value, in ceil(width/8) bytes.
			count, vb := h>>1, (width+7)/8
			if len(data) < vb || count > uint64(n-len(out)) {
				return nil, fmt.Errorf("hybrid run of %d values cut short", count)
			}
			var v uint32
			for j := range vb {
				v |= uint32(data[j]) << (8 * j)
			}
			if v > math.MaxInt32 {
				return nil, fmt.Errorf("hybrid value %d", v)
			}
			data = data[vb:]
			run := out[len(out) : len(out)+int(count)]
			for i := range run {
				run[i] = int32(v)
			}
			out = out[:len(out)+int(count)]
			continue
		}
		// Groups of 8 bit-packed values, least significant bit first; the
		// last group may pad past n.
		groups := h >> 1
		if groups > uint64(len(data)) || groups*uint64(width) > uint64(len(data)) {
			return nil, fmt.Errorf("bit-packed run of %d groups cut short", groups)
		}
		nb := int(groups) * width
		packed := data[:nb]
		data = data[nb:]
		mask := uint64(1)<<width - 1
		take := min(int(groups)*8, n-len(out))
		start := len(out)
		out = out[:start+take]
		for i := unpackGroups(packed, width, out[start:]); i < take; i++ {
			bit := i * width
			var w uint64
			if at := bit >> 3; at+8 <= len(packed) {
				w = binary.LittleEndian.Uint64(packed[at:])
			} else {
				for j := 0; at+j < len(packed); j++ {
					w |= uint64(packed[at+j]) << (8 * j)
				}
			}
			v := w >> (bit & 7) & mask
			if v > math.MaxInt32 {
				return nil, fmt.Errorf("hybrid value %d", v)
			}
			out[start+i] = int32(v)
		}
	}
	return out, nil
}

// unpackGroups decodes the whole groups of 8 bit-packed values of width
// bits (1 to 16: a dictionary's indices) at the start of packed into dst,
// two 64-bit loads a group, while a load stays inside packed; it returns
// how many values it decoded (a multiple of 8; 0 for another width), the
// caller decodes the rest.
func unpackGroups(packed []byte, width int, dst []int32) int {
	if width < 1 || width > 16 {
		return 0
	}
	w := uint(width)
	mask := uint64(1)<<w - 1
	// Values 4 to 7 start at bit 4*width: a byte, then a shift of 0 or 4
	// (4*width is at most 60 when the shift is 4).
	hiByte, hiShift := 4*width>>3, uint(4*width&7)
	i := 0
	for g := 0; i+8 <= len(dst) && g+hiByte+8 <= len(packed); g += width {
		lo := binary.LittleEndian.Uint64(packed[g:])
		hi := binary.LittleEndian.Uint64(packed[g+hiByte:]) >> hiShift
		d := dst[i : i+8 : i+8]
		d[0] = int32(lo & mask)
		d[1] = int32(lo >> w & mask)
		d[2] = int32(lo >> (2 * w) & mask)
		d[3] = int32(lo >> (3 * w) & mask)
		d[4] = int32(hi & mask)
		d[5] = int32(hi >> w & mask)
		d[6] = int32(hi >> (2 * w) & mask)
		d[7] = int32(hi >> (3 * w) & mask)
		i += 8
	}
	return i
}
