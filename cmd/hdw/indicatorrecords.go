package main

import (
	"bytes"
	"context"
	"errors"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"

	"hdw/indicators"
	"hdw/keys"
	"hdw/objstore"
	"hdw/tables"
)

// Records streams the health records of every committed batch as typed
// record batches (the pseudonym, then cols), the columns decoded
// concurrently: indicators count over the arrays (issue 25).
func (h healthRows) Records(ctx context.Context, cols []string, fn func(arrow.Record) error) error {
	cs, err := h.wh.Commits(ctx)
	if err != nil {
		return err
	}
	q := tables.Query{Columns: append([]string{"pseudonym"}, cols...), Parallel: true}
	for _, c := range cs {
		dek, err := h.wh.DataKey(ctx, c.Batch, keys.Health)
		if err != nil {
			return err
		}
		for _, o := range c.Objects {
			if !strings.HasPrefix(o.Key, "health/records/") {
				continue
			}
			if _, err := tables.RecordsObject(ctx, h.wh.St, o.Key, dek, q, fn); err != nil && !errors.Is(err, objstore.ErrNotExist) {
				dek.Wipe()
				return err
			}
		}
		dek.Wipe()
	}
	return nil
}

// Records streams a workspace's records table as typed record batches.
func (w wsRows) Records(ctx context.Context, cols []string, fn func(arrow.Record) error) error {
	_, err := tables.Records(ctx, bytes.NewReader(w.ws.data), tables.Query{Columns: append([]string{"pseudonym"}, cols...), Key: w.ws.key, Parallel: true}, fn)
	return err
}

var (
	_ indicators.RecordRows = healthRows{}
	_ indicators.RecordRows = wsRows{}
)
