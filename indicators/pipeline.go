package indicators

import (
	"context"
	"errors"
	"hash/maphash"
	"sync"
	"unsafe"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
)

const sep = "\x1f"

// batchRows is the rows of one batch handed from the reader to the
// aggregator.
const batchRows = 4096

// rowBatch holds rows copied out of a source's callback: every field's
// bytes in one arena, with their end offsets (person, then the columns).
type rowBatch struct {
	arena []byte
	ends  []int
}

// pipelined runs rows.Scan on the calling goroutine and process on
// another, so that reading and decoding a table overlaps with the
// aggregation (two cores). process sees the rows in scan order; the
// strings it gets alias the batch and are valid during the call only.
func pipelined(ctx context.Context, rows Rows, cols []string, process func(string, []string) error) error {
	work := make(chan *rowBatch, 2)
	free := make(chan *rowBatch, 3)
	for range 3 {
		free <- &rowBatch{}
	}
	done := make(chan error, 1)
	stop := make(chan struct{})
	fields := 1 + len(cols)
	go func() {
		vals := make([]string, len(cols))
		var err error
		for b := range work {
			if err == nil {
				start := 0
				str := func(end int) string {
					s := ""
					if end > start {
						s = unsafe.String(&b.arena[start], end-start)
					}
					start = end
					return s
				}
				for r := 0; r+fields <= len(b.ends) && err == nil; r += fields {
					person := str(b.ends[r])
					for j := range vals {
						vals[j] = str(b.ends[r+1+j])
					}
					err = process(person, vals)
				}
				if err != nil {
					close(stop)
				}
			}
			b.arena, b.ends = b.arena[:0], b.ends[:0]
			free <- b
		}
		done <- err
	}()
	var cur *rowBatch
	send := func() bool {
		select {
		case work <- cur:
			cur = nil
			return true
		case <-stop:
			return false
		}
	}
	scanErr := rows.Scan(ctx, cols, func(person string, vals []string) error {
		if cur == nil {
			select {
			case cur = <-free:
			case <-stop:
				return errStopped
			}
		}
		cur.arena = append(cur.arena, person...)
		cur.ends = append(cur.ends, len(cur.arena))
		for _, v := range vals {
			cur.arena = append(cur.arena, v...)
			cur.ends = append(cur.ends, len(cur.arena))
		}
		if len(cur.ends) >= batchRows*fields && !send() {
			return errStopped
		}
		return nil
	})
	if scanErr == nil && cur != nil && len(cur.ends) > 0 {
		send()
	}
	close(work)
	err := <-done
	if err != nil {
		return err
	}
	if errors.Is(scanErr, errStopped) {
		return nil
	}
	return scanErr
}

var errStopped = errors.New("indicators: aggregation stopped")

var errTooMany = errors.New("indicators: over 2^31 persons or person-group cells: narrow the filter")

// maxFilterCache bounds the filter's verdict cache (combinations of values).
const maxFilterCache = 1 << 16

// pipelinedRecords runs rows.Records on the calling goroutine and each of
// process on a goroutine of its own (each record retained while it
// waits): every process sees every record, in order, so that decoding the
// next batch overlaps with aggregating this one, and the shards of the
// aggregation (each its own persons) run side by side.
// A [HashedRecordRows] is read with the persons hashed with seed.
func pipelinedRecords(ctx context.Context, rows RecordRows, cols []string, seed maphash.Seed, process ...func(arrow.Record) error) error {
	work := make([]chan arrow.Record, len(process))
	done := make(chan error, len(process))
	stop := make(chan struct{})
	var once sync.Once
	for k, proc := range process {
		work[k] = make(chan arrow.Record, 2)
		go func() {
			var err error
			for rec := range work[k] {
				if err == nil {
					if err = proc(rec); err != nil {
						once.Do(func() { close(stop) })
					}
				}
				rec.Release()
			}
			done <- err
		}()
	}
	read := rows.Records
	if hr, ok := rows.(HashedRecordRows); ok {
		read = func(ctx context.Context, cols []string, fn func(arrow.Record) error) error {
			return hr.HashedRecords(ctx, cols, seed, fn)
		}
	}
	scanErr := read(ctx, cols, func(rec arrow.Record) error {
		// A Dictionary array builds its dictionary array on first use:
		// built here, before the shards read the record side by side.
		for _, c := range rec.Columns() {
			if d, ok := c.(*array.Dictionary); ok {
				d.Dictionary()
			}
		}
		for k := range work {
			rec.Retain()
			select {
			case work[k] <- rec:
			case <-stop:
				rec.Release()
				return errStopped
			}
		}
		return nil
	})
	for _, w := range work {
		close(w)
	}
	var err error
	for range process {
		if e := <-done; e != nil && err == nil {
			err = e
		}
	}
	if err != nil {
		return err
	}
	if errors.Is(scanErr, errStopped) {
		return nil
	}
	return scanErr
}
