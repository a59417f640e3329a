package export

import (
	"context"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// RecordSource is a [RowSource] that also streams its rows as typed Arrow
// record batches projected on cols ([tables.Records]): the gate then
// counts on the typed, dictionary-encoded columns. Records may be called
// more than once and must give the rows in the order of Rows.
type RecordSource interface {
	RowSource
	Records(ctx context.Context, cols []string, fn func(arrow.Record) error) error
}

// stringBatch is the rows of string batches built from a plain RowSource.
const stringBatch = 8192

// records streams src's rows as record batches of cols: src's own typed
// batches when it is a [RecordSource] (a column its file lacks added as
// nulls, as the string view reads it), string batches built from its rows
// otherwise (an absent cell is "").
func records(ctx context.Context, src RowSource, cols []string, fn func(arrow.Record) error) error {
	rs, ok := src.(RecordSource)
	if !ok {
		return StringRecords(ctx, src, cols, fn)
	}
	return rs.Records(ctx, cols, func(rec arrow.Record) error {
		var missing []string
		for _, c := range cols {
			if len(rec.Schema().FieldIndices(c)) == 0 {
				missing = append(missing, c)
			}
		}
		if len(missing) == 0 {
			return fn(rec)
		}
		fields, arrs := rec.Schema().Fields(), rec.Columns()
		for _, c := range missing {
			null := array.MakeArrayOfNull(memory.DefaultAllocator, arrow.BinaryTypes.String, int(rec.NumRows()))
			defer null.Release()
			fields, arrs = append(fields, arrow.Field{Name: c, Type: arrow.BinaryTypes.String, Nullable: true}), append(arrs, null)
		}
		full := array.NewRecord(arrow.NewSchema(fields, nil), arrs, rec.NumRows())
		defer full.Release()
		return fn(full)
	})
}

// StringRecords streams src's rows as string record batches of cols (an
// absent cell is ""), for a source that has no typed batches of its own
// (a filtered one).
func StringRecords(ctx context.Context, src RowSource, cols []string, fn func(arrow.Record) error) error {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: c, Type: arrow.BinaryTypes.String}
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
	defer b.Release()
	n := 0
	flush := func() error {
		rec := b.NewRecord()
		defer rec.Release()
		n = 0
		return fn(rec)
	}
	err := src.Rows(ctx, func(row map[string]string) error {
		for i, c := range cols {
			b.Field(i).(*array.StringBuilder).Append(row[c])
		}
		if n++; n == stringBatch {
			return flush()
		}
		return nil
	})
	if err == nil && n > 0 {
		err = flush()
	}
	return err
}
