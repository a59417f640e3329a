package pipeline

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"sync"

	"hdw/objstore"
)

// rowSet is a set of manifest row numbers, safe for concurrent use.
type rowSet struct {
	mu sync.Mutex
	m  map[int]bool
}

func (s *rowSet) add(n int) {
	s.mu.Lock()
	s.m[n] = true
	s.mu.Unlock()
}

func (s *rowSet) has(n int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[n]
}

func (s *rowSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}

// rewriteManifest replaces the source's CSV manifest by its header and the
// rows not in done (SEC-ALI-1 with --purge-source: the identities of the
// ingested rows leave the transit area; the rows that stay, quarantined or
// rejected, are what the operator corrects and reruns). The rows keep their
// order; the new manifest is UTF-8 with the same delimiter. It is written
// atomically (Create then Close), so a failure leaves the old manifest.
func rewriteManifest(ctx context.Context, opt Options, key string, done *rowSet) error {
	rc, err := opt.Source.Open(ctx, key)
	if err != nil {
		return err
	}
	defer rc.Close()
	enc, err := NormalizeEncoding(opt.Encoding)
	if err != nil {
		return err
	}
	ll := &lineLimiter{r: decodeManifest(io.LimitReader(rc, MaxManifestBytes), enc), max: 64 << 10, line: 1, long: map[int]bool{}}
	br := bufio.NewReaderSize(ll, 64<<10)
	delim := opt.Delimiter
	if delim == 0 {
		delim = detectDelimiter(br, 64<<10)
	}
	cr := csv.NewReader(br)
	cr.Comma, cr.FieldsPerRecord, cr.LazyQuotes = delim, -1, true
	w, err := opt.Source.Create(ctx, key)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Comma = delim
	fail := func(err error) error {
		objstore.Abort(w)
		return err
	}
	head, err := cr.Read()
	if err != nil {
		return fail(err)
	}
	if err := cw.Write(head); err != nil {
		return fail(err)
	}
	for n := 1; ; n++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				continue // a malformed row was rejected: it cannot be rewritten as it was, and stays rejected
			}
			return fail(err)
		}
		if done.has(n) {
			continue
		}
		if err := cw.Write(rec); err != nil {
			return fail(err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fail(err)
	}
	return w.Close()
}
