package main

import (
	"context"

	"github.com/apache/arrow/go/v17/arrow"

	"hdw/export"
	"hdw/indicators"
)

// indicatorRows gives an indicator a table's rows with the person's
// pseudonym first (indicators.RecordRows): typed record batches, the
// columns decoded concurrently, counted over the arrays (issue 25).
type indicatorRows struct {
	t interface {
		export.RecordSource
		Scan(ctx context.Context, cols []string, fn func(string, []string) error) error
	}
}

func (r indicatorRows) Scan(ctx context.Context, cols []string, fn func(string, []string) error) error {
	return r.t.Scan(ctx, cols, fn)
}

func (r indicatorRows) Records(ctx context.Context, cols []string, fn func(arrow.Record) error) error {
	return r.t.Records(ctx, append([]string{"pseudonym"}, cols...), fn)
}

var _ indicators.RecordRows = indicatorRows{}
