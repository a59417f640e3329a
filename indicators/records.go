package indicators

import (
	"context"
	"errors"
	"hash/maphash"
	"math"
	"slices"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"hdw/tables"
)

// RecordRows is a [Rows] that also streams Arrow record batches
// ([tables.Records]) whose first column is the person's pseudonym and the
// next ones cols, in that order: [Compute] then reads the typed arrays
// (group labels once per dictionary entry or distinct number, values
// without parsing) instead of a string per cell.
type RecordRows interface {
	Rows
	Records(ctx context.Context, cols []string, fn func(arrow.Record) error) error
}

// HashedRecordRows is a [RecordRows] whose reader hashes the persons'
// pseudonyms as it decodes them ([tables.RecordsHashed]): the first column
// of HashedRecords' batches is each row's person as the pseudonym's keyed
// hash ([tables.HashValue] with seed; Uint64, 0 for none). [Compute] then
// never holds a pseudonym, and a run of persons costs no string column.
type HashedRecordRows interface {
	RecordRows
	HashedRecords(ctx context.Context, cols []string, seed maphash.Seed, fn func(arrow.Record) error) error
}

var errRecordShape = errors.New("indicators: a record batch without its person column")

// labelSet interns the labels of one group column (or of the histogram's
// buckets): label -> id, the labels by id, and caches from a column's
// values to their label (a number, or a short string packed in a word
// whose top byte is its length+1, so the two never meet in one column).
type labelSet struct {
	ids    map[string]int32
	strs   []string
	byWord *wordCache
	byDict []int32
}

func (l *labelSet) id(s string) int32 {
	id, ok := l.ids[s]
	if !ok {
		id = int32(len(l.strs))
		l.strs = append(l.strs, s)
		l.ids[l.strs[id]] = id
	}
	return id
}

// fill sets out[k] to the label id, labelled by g, of row rows[k] of a
// (the rows that count in this shard).
func (l *labelSet) fill(g grouping, a arrow.Array, out []int32, rows []int32) {
	switch a := a.(type) {
	case *array.Dictionary:
		dict := a.Dictionary()
		l.byDict = l.byDict[:0]
		for j := range dict.Len() {
			l.byDict = append(l.byDict, l.id(g.label(tables.FormatValue(dict, j))))
		}
		null := l.id(g.label(""))
		if ind, ok := a.Indices().(*array.Int32); ok && a.NullN() == 0 {
			// The common case (tables.RecordsHashed's enums), without a
			// type switch per row.
			xs := ind.Int32Values()
			for k, i := range rows {
				out[k] = l.byDict[xs[i]]
			}
			break
		}
		for k, i := range rows {
			if a.IsNull(int(i)) {
				out[k] = null
			} else {
				out[k] = l.byDict[a.GetValueIndex(int(i))]
			}
		}
	case *array.Int64, *array.Date32:
		for k, i32 := range rows {
			i := int(i32)
			if a.IsNull(i) {
				out[k] = l.id(g.label(""))
				continue
			}
			var v int64
			if x, ok := a.(*array.Int64); ok {
				v = x.Value(i)
			} else {
				v = int64(a.(*array.Date32).Value(i))
			}
			id, ok := l.byWord.get(uint64(v))
			if !ok {
				id = l.id(g.label(tables.FormatValue(a, i)))
				l.byWord.put(uint64(v), id)
			}
			out[k] = id
		}
	case *array.String:
		// Short strings (codes: a department, a modality) are looked up
		// by their bytes packed in a word.
		for k, i32 := range rows {
			i := int(i32)
			s := a.Value(i)
			if a.IsNull(i) || len(s) > 7 {
				out[k] = l.id(g.label(tables.FormatValue(a, i)))
				continue
			}
			w := uint64(len(s)+1) << 56
			for j := range len(s) {
				w |= uint64(s[j]) << (8 * j)
			}
			id, ok := l.byWord.get(w)
			if !ok {
				id = l.id(g.label(s))
				l.byWord.put(w, id)
			}
			out[k] = id
		}
	default:
		for k, i := range rows {
			out[k] = l.id(g.label(tables.FormatValue(a, int(i))))
		}
	}
}

// floatAt is a measure's value in row i of a (false: none).
func floatAt(a arrow.Array, i int) (float64, bool) {
	if a.IsNull(i) {
		return 0, false
	}
	var f float64
	switch a := a.(type) {
	case *array.Float64:
		f = a.Value(i)
	case *array.Int64:
		f = float64(a.Value(i))
	default:
		return parseValue(tables.FormatValue(a, i))
	}
	return f, !math.IsNaN(f) && !math.IsInf(f, 0)
}

// shardOf is the shard, of n, of a person's hash: its low 32 bits
// (the person index's home slot is its top bits). Every row of a person
// falls in the same shard, so that a shard holds all of a person's
// contributions.
func shardOf(h uint64, n int) int {
	return int(uint64(uint32(h)) * uint64(n) >> 32)
}

// personRows returns the rows of a batch that count in this shard (a
// person, of this shard: every row of a person falls in one shard) and
// their persons' keyed hashes (a hash of 0 is 1), and brings the persons'
// slots of the index into the cache. person is the hashes
// ([HashedRecordRows]) or the pseudonyms. The other rows cost a shard
// one look here and nothing after.
func (r *run) personRows(person arrow.Array) ([]int32, []uint64) {
	n := person.Len()
	rows, phs := r.rows[:0], r.phs[:0]
	var hs []uint64
	if a, ok := person.(*array.Uint64); ok && a.NullN() == 0 {
		hs = a.Uint64Values()
	} else {
		hs = slices.Grow(r.hs[:0], n)[:n]
		r.hs = hs
		for i := range hs {
			hs[i] = 0
			if !person.IsValid(i) {
				continue
			}
			switch a := person.(type) {
			case *array.Uint64:
				hs[i] = a.Value(i)
			case *array.String:
				if s := a.Value(i); s != "" {
					hs[i] = max(1, maphash.String(r.seed, s)) // tables.HashValue of its bytes
				}
			default:
				if s := tables.FormatValue(a, i); s != "" {
					hs[i] = max(1, maphash.String(r.seed, s))
				}
			}
		}
	}
	// The slots' loads are independent: their cache misses overlap here
	// instead of stalling each lookup in turn (rows of one person follow
	// each other: one touch per run of them).
	var sink, last uint64
	for i, ph := range hs {
		if ph == 0 || (r.shards > 1 && shardOf(ph, r.shards) != r.shard) {
			continue
		}
		rows, phs = append(rows, int32(i)), append(phs, ph)
		if ph != last {
			sink += r.persons.touch(ph)
			last = ph
		}
	}
	r.touched += sink & 1
	r.rows, r.phs = rows, phs
	return rows, phs
}

// record counts the rows of one record batch (person, then r.cols).
func (r *run) record(rec arrow.Record, ids [][]int32) error {
	n := int(rec.NumRows())
	// A file without the person column would put a data column first.
	if rec.NumCols() < 1 || slices.Contains(r.cols, rec.Schema().Field(0).Name) {
		return errRecordShape
	}
	// The columns by name; one the file lacks (added to the dictionary
	// after it was written) reads as null, as in the string view.
	cols := make([]arrow.Array, len(r.cols))
	for j, c := range r.cols {
		if idx := rec.Schema().FieldIndices(c); len(idx) > 0 && idx[0] > 0 {
			cols[j] = rec.Column(idx[0])
		} else {
			cols[j] = array.MakeArrayOfNull(memory.DefaultAllocator, arrow.BinaryTypes.String, n)
			defer cols[j].Release()
		}
	}
	nl, hist := len(r.p.groups), 0
	if r.d.Measure == Histogram {
		hist = 1
	}
	if len(r.labels) == 0 {
		for range nl + 1 {
			r.labels = append(r.labels, labelSet{ids: map[string]int32{}, byWord: &wordCache{}})
		}
	}
	if n > math.MaxInt32 {
		return errRecordShape
	}
	rows, phs := r.personRows(rec.Column(0))
	for g, gr := range r.p.groups {
		ids[g] = slices.Grow(ids[g][:0], len(rows))[:len(rows)]
		r.labels[g].fill(gr, cols[r.groupAt[g]], ids[g], rows)
	}
	val := func(j int, i int) string { return tables.FormatValue(cols[j], i) }
	// Rows counts every row read, in every shard; a person's first row
	// is its number in the scan (r.st.Rows when counted).
	base := r.st.Rows
	defer func() { r.st.Rows = base + int64(n) }()
	if err := r.ctx.Err(); err != nil {
		return err
	}
	for k, i32 := range rows {
		i := int(i32)
		r.st.Rows = base + int64(i) + 1
		ph := phs[k]
		if r.p.filter != nil && !r.pass(func(j int) string { return val(j, i) }) {
			continue
		}
		var v float64
		if r.needValue {
			var ok bool
			if v, ok = floatAt(cols[r.valueAt], i); !ok {
				continue
			}
		}
		// The group: its label ids packed in a word when they fit (four
		// labels of under 2^16), else its key as the string view builds it.
		packed, fits := uint64(0), nl+hist <= 4
		for g := range nl {
			id := ids[g][k]
			packed |= uint64(id) << (16 * g)
			fits = fits && id < 1<<16
		}
		if r.d.Measure == Histogram {
			b := bucket(r.d.Buckets, v)
			if b == "" {
				continue
			}
			id := r.labels[nl].id(b)
			packed |= uint64(id) << (16 * nl)
			fits = fits && id < 1<<16
		}
		gid, ok := int32(0), false
		if fits {
			gid, ok = r.packedGroupIDs.get(packed)
		}
		if !ok {
			r.keyBuf = r.keyBuf[:0]
			for g := range nl {
				if g > 0 {
					r.keyBuf = append(r.keyBuf, sep...)
				}
				r.keyBuf = append(r.keyBuf, r.labels[g].strs[ids[g][k]]...)
			}
			if r.d.Measure == Histogram {
				if nl > 0 {
					r.keyBuf = append(r.keyBuf, sep...)
				}
				r.keyBuf = append(r.keyBuf, bucket(r.d.Buckets, v)...)
			}
			gid = r.groupID(r.keyBuf)
			if fits {
				r.packedGroupIDs.put(packed, gid)
			}
		}
		if err := r.count(ph, gid, v); err != nil {
			return err
		}
	}
	return nil
}
