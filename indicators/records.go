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

// fill sets out[i] to the label id of row i of a, labelled by g, for the
// rows that count (person hash phs[i] not 0: another shard's rows are
// left).
func (l *labelSet) fill(g grouping, a arrow.Array, out []int32, phs []uint64) {
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
			for i, x := range ind.Int32Values() {
				if phs[i] != 0 {
					out[i] = l.byDict[x]
				}
			}
			break
		}
		for i := range out {
			if phs[i] == 0 {
				continue
			}
			if a.IsNull(i) {
				out[i] = null
			} else {
				out[i] = l.byDict[a.GetValueIndex(i)]
			}
		}
	case *array.Int64, *array.Date32:
		for i := range out {
			if phs[i] == 0 {
				continue
			}
			if a.IsNull(i) {
				out[i] = l.id(g.label(""))
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
			out[i] = id
		}
	case *array.String:
		// Short strings (codes: a department, a modality) are looked up
		// by their bytes packed in a word.
		for i := range out {
			if phs[i] == 0 {
				continue
			}
			s := a.Value(i)
			if a.IsNull(i) || len(s) > 7 {
				out[i] = l.id(g.label(tables.FormatValue(a, i)))
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
			out[i] = id
		}
	default:
		for i := range out {
			if phs[i] == 0 {
				continue
			}
			out[i] = l.id(g.label(tables.FormatValue(a, i)))
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

// personHashes returns the keyed hash of each row's person (0: none, or
// another shard's: the row does not count here; a hash of 0 is 1), and
// brings the persons' slots of the index into the cache. person is the
// hashes ([HashedRecordRows]) or the pseudonyms.
func (r *run) personHashes(person arrow.Array) []uint64 {
	n := person.Len()
	phs := slices.Grow(r.phs[:0], n)[:n]
	r.phs = phs
	switch a := person.(type) {
	case *array.Uint64:
		copy(phs, a.Uint64Values())
		if a.NullN() > 0 {
			for i := range phs {
				if a.IsNull(i) {
					phs[i] = 0
				}
			}
		}
	case *array.String:
		for i := range phs {
			phs[i] = 0
			if s := a.Value(i); s != "" && a.IsValid(i) {
				phs[i] = max(1, maphash.String(r.seed, s)) // tables.HashValue of its bytes
			}
		}
	default:
		for i := range phs {
			phs[i] = 0
			if s := tables.FormatValue(a, i); s != "" && a.IsValid(i) {
				phs[i] = max(1, maphash.String(r.seed, s))
			}
		}
	}
	// The slots' loads are independent: their cache misses overlap here
	// instead of stalling each lookup in turn (rows of one person follow
	// each other: one touch per run of them).
	var sink, last uint64
	for i, ph := range phs {
		if r.shards > 1 && shardOf(ph, r.shards) != r.shard {
			phs[i] = 0
			continue
		}
		if ph != last && ph != 0 {
			sink += r.persons.touch(ph)
			last = ph
		}
	}
	r.touched += sink & 1
	return phs
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
	phs := r.personHashes(rec.Column(0))
	for g, gr := range r.p.groups {
		ids[g] = slices.Grow(ids[g][:0], n)[:n]
		r.labels[g].fill(gr, cols[r.groupAt[g]], ids[g], phs)
	}
	val := func(j int, i int) string { return tables.FormatValue(cols[j], i) }
	for i := range n {
		if err := r.tick(); err != nil {
			return err
		}
		ph := phs[i]
		if ph == 0 {
			continue
		}
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
			id := ids[g][i]
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
				r.keyBuf = append(r.keyBuf, r.labels[g].strs[ids[g][i]]...)
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
