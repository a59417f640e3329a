package masking

import "bytes"

// The scanner before the single-pass rewrite, kept verbatim (renamed) as
// the reference of TestScannerSameAsReference and FuzzScannerSameAsReference.

// refScanner is the residual scan as it was before the single-pass scan, kept to check that the new one finds the same (the last line of defence, SEC-PSE-4): it
// searches a byte stream for every identifying value of a person in raw
// and normalized forms, across Write boundaries. It implements io.Writer.
type refScanner struct {
	pseudo  []byte // the person's pseudonym: hdw writes it, its letters are not a hit
	needles []needle
	tail    []byte
	max     int
	hit     string
	final   bool
	started bool // bytes before the current buffer exist
}

// newRefScanner prepares a scan for p's identifiers: the same needles as
// the single-pass scan (the reference checks the matching, not the forms).
func newRefScanner(p Person) *refScanner {
	ns := newNeedleSet(p)
	return &refScanner{pseudo: ns.pseudo, needles: ns.needles, max: ns.max}
}

// Write scans p; it never fails. Matches in the last bytes, where the
// pseudonym may still be completing, are checked on the next Write or by Hit.
func (s *refScanner) Write(p []byte) (int, error) {
	if s.hit != "" || len(s.needles) == 0 {
		return len(p), nil
	}
	s.final = false
	_, s.tail = window(nil, s.tail, p, len(s.pseudo), s.max, func(buf []byte, limit int) { s.check(buf, limit, false) })
	s.started = true
	return len(p), nil
}

// check records a hit for a needle that ends at or before limit (short
// needles also need a delimiter on both sides; at the end of the stream,
// final, the end counts as one).
func (s *refScanner) check(buf []byte, limit int, final bool) {
	scan := buf
	if len(s.pseudo) > 0 && bytes.Contains(buf, s.pseudo) {
		// A base32 pseudonym may spell a short name by chance ("lyon").
		scan = bytes.ReplaceAll(buf, s.pseudo, make([]byte, len(s.pseudo)))
	}
	for _, n := range s.needles {
		for off := 0; ; {
			i := bytes.Index(scan[off:], n.b)
			if i < 0 {
				break
			}
			at, end := off+i, off+i+len(n.b)
			if end <= limit {
				if !n.delim {
					s.hit = n.kind
					return
				}
				okBefore := at == 0 && !s.started || at > 0 && isDelim(scan[at-1])
				okAfter := end < len(scan) && isDelim(scan[end]) || end == len(scan) && final
				if okBefore && okAfter {
					s.hit = n.kind
					return
				}
			}
			off += i + 1
		}
	}
}

// Hit returns the kind of the first identifier found, once the stream has
// ended (it checks the last bytes too).
func (s *refScanner) Hit() (string, bool) {
	if s.hit == "" && !s.final && len(s.needles) > 0 {
		s.final = true
		s.check(s.tail, len(s.tail), true)
	}
	return s.hit, s.hit != ""
}
