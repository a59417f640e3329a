package audit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	"hdw/keys"
	"hdw/objstore"
)

// Object keys of the trail, under the warehouse root.
const (
	Prefix           = "audit/"
	headsPrefix      = "audit/heads/"
	segmentsPrefix   = "audit/segments/"
	retentionPrefix  = "audit/retention/"
	maxObject        = 64 << 20
	maxClaims        = 1000
	idTimeFormat     = "20060102T150405.000Z"
	headNumberDigits = 12
)

// ErrClosed is returned by [Log.Append] and [Log.Flush] after [Log.Close].
var ErrClosed = errors.New("audit: log closed")

// ErrSink is wrapped by the errors of [Open], [Log.Append], [Log.Flush]
// and [Log.Close] when the trail cannot be written: the command must not
// act (SRS-065).
var ErrSink = errors.New("audit: sink not writable")

// Locker is implemented by stores with write-once retention (S3 Object
// Lock, objstore/s3store). PutLocked must fail with objstore.ErrExist when
// the object exists.
type Locker interface {
	PutLocked(ctx context.Context, key string, r io.Reader, mode string, until time.Time) error
}

// Options configure a [Log].
type Options struct {
	Profile  string // profile of the session, copied into every event
	Operator string // stable operator id (ENS OP.ACC.1), copied into every event
	Source   string // hostname or address of the runner
	Command  string // command of the session ("ingest", ...), default of every event
	// LockMode is the S3 Object Lock mode of written objects ("",
	// GOVERNANCE or COMPLIANCE), used when the store implements [Locker].
	LockMode string
	// LockFor is the Object Lock retention of written objects.
	LockFor time.Duration
	// RequireLock makes a failed locked write an error; by default the log
	// falls back to PutIfAbsent (a bucket without Object Lock).
	RequireLock bool
	// Batch is the number of events held in memory before a segment is
	// written. 0 or 1 (the default) writes every event durably before
	// Append returns (write before act, SRS-065); a larger batch trades
	// that for fewer objects, and the caller calls [Log.Flush] before each
	// irreversible act.
	Batch int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Sealer, when set, encrypts every event payload at rest (SRS-091):
	// [Open] draws one data key for the session, wrapped by the audit
	// store key, and writes SealedVersion segments. Without it, segments
	// are FormatVersion (payloads in clear).
	Sealer Sealer
	// Signer, with Sealer, signs every event line with the acting
	// operator's own ed25519 key (keys.Signer; ENS OP.ACC.1): a holder of
	// the MAC key cannot rewrite that operator's events undetected.
	Signer EventSigner
}

// EventSigner signs event lines as one operator; keys.Signer implements it.
type EventSigner interface {
	OperatorID() string
	Sign(ctx context.Context, msg []byte) ([]byte, error)
}

// Log is the audit trail of one session (one command run). Its methods are
// safe for concurrent use.
type Log struct {
	mu      sync.Mutex
	st      objstore.Store
	mac     MAC
	opt     Options
	id      string
	head    int64
	part    int
	prev    string // digest of the head (before part 0) or of the last part
	seq     int64
	pending []Event
	dek     keys.Secret // payload key (SealedVersion), zero when in clear
	wrapped string      // its wrapped form, base64
	closed  bool
	err     error // sticky write error
}

func headKey(n int64) string {
	return headsPrefix + fmt.Sprintf("%0*d", headNumberDigits, n)
}

func partKey(id string, part int) string {
	return segmentsPrefix + id + "/" + fmt.Sprintf("%06d", part) + ".jsonl"
}

func newID(now time.Time) (string, error) {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return now.UTC().Format(idTimeFormat) + "-" + hex.EncodeToString(b), nil
}

// Open starts a session. Before it returns, it claims the next head
// (audit/heads/<n>, PutIfAbsent) and writes the first segment holding the
// session.open event: if either write fails, Open returns an error
// wrapping [ErrSink] and the command must not act (SRS-065).
func Open(ctx context.Context, st objstore.Store, mac MAC, opt Options) (*Log, error) {
	if st == nil || mac == nil {
		return nil, fmt.Errorf("%w: no store or no audit key", ErrSink)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Batch < 1 {
		opt.Batch = 1
	}
	now := opt.Now().UTC()
	id, err := newID(now)
	if err != nil {
		return nil, fmt.Errorf("audit: session id: %w", err)
	}
	l := &Log{st: st, mac: mac, opt: opt, id: id}
	if opt.Sealer != nil {
		dks, err := opt.Sealer.NewDataKeys(ctx, keys.AuditStore, 1)
		switch {
		case errors.Is(err, keys.ErrKeyNotFound):
			// A warehouse created before SRS-091 encryption of the trail:
			// clear segments until the admin creates the audit store key.
		case err != nil || len(dks) != 1:
			return nil, fmt.Errorf("%w: audit payload key: %w", ErrSink, err)
		default:
			l.dek, l.wrapped = dks[0].Key, base64.StdEncoding.EncodeToString(dks[0].Wrapped)
		}
	}
	open := l.fill(Event{Action: ActionOpen, Outcome: OutcomeOK, Time: now})
	if err := open.Check(); err != nil {
		return nil, err // an identifying-looking operator, source or command
	}
	if err := l.claimHead(ctx, now); err != nil {
		return nil, err
	}
	l.pending = append(l.pending, open)
	if err := l.flushLocked(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// ID returns the session id (the folder of its segments).
func (l *Log) ID() string { return l.id }

// claimHead writes audit/heads/<n> for the first free n, linked to head n-1.
func (l *Log) claimHead(ctx context.Context, now time.Time) error {
	n := int64(0)
	for info, err := range l.st.List(ctx, headsPrefix) {
		if err != nil {
			return fmt.Errorf("%w: list heads: %w", ErrSink, err)
		}
		if k, ok := headNumber(info.Key); ok && k >= n {
			n = k + 1
		}
	}
	for range maxClaims {
		prev := ""
		if n > 0 {
			b, err := readObject(ctx, l.st, headKey(n-1))
			if err != nil && !errors.Is(err, objstore.ErrNotExist) {
				return fmt.Errorf("%w: read head: %w", ErrSink, err)
			}
			if err == nil {
				prev = digest(b)
			}
		}
		line, _ := json.Marshal(headRecord{N: n, Segment: l.id, Prev: prev, Opened: now.Format(TimeFormat)})
		data, err := sealObject(ctx, l.mac, line)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrSink, err)
		}
		err = l.put(ctx, headKey(n), data)
		if errors.Is(err, objstore.ErrExist) {
			n++ // another writer took n: take the next place
			continue
		}
		if err != nil {
			return fmt.Errorf("%w: write head: %w", ErrSink, err)
		}
		l.head, l.prev = n, digest(data)
		return nil
	}
	return fmt.Errorf("%w: no free head after %d attempts", ErrSink, maxClaims)
}

// headNumber parses the n of audit/heads/<n>.
func headNumber(key string) (int64, bool) {
	s, ok := strings.CutPrefix(key, headsPrefix)
	if !ok || len(s) != headNumberDigits {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0
}

// sealObject returns line, a newline, its seal line and a newline.
func sealObject(ctx context.Context, mac MAC, line []byte) ([]byte, error) {
	body := append(append([]byte(nil), line...), '\n')
	s, err := seal(ctx, mac, body, line)
	if err != nil {
		return nil, err
	}
	sb, _ := json.Marshal(s)
	return append(append(body, sb...), '\n'), nil
}

// put writes a closed object once: under Object Lock when configured and
// supported, else with PutIfAbsent; a local file is then made read-only.
func (l *Log) put(ctx context.Context, key string, data []byte) error {
	return putOnce(ctx, l.st, key, data, l.opt.LockMode, l.opt.Now().Add(l.opt.LockFor), l.opt.RequireLock)
}

func putOnce(ctx context.Context, st objstore.Store, key string, data []byte, mode string, until time.Time, require bool) error {
	var err error
	if lk, ok := st.(Locker); ok && mode != "" {
		err = lk.PutLocked(ctx, key, bytes.NewReader(data), mode, until)
		if err != nil && !errors.Is(err, objstore.ErrExist) && !require {
			err = st.PutIfAbsent(ctx, key, bytes.NewReader(data))
		}
	} else {
		err = st.PutIfAbsent(ctx, key, bytes.NewReader(data))
	}
	if errors.Is(err, objstore.ErrExist) {
		// A write that failed after storing the object (a lock refused
		// after the upload, a retried request) left our own bytes: the
		// session id in every object makes them unique to this writer.
		if got, rerr := readObject(ctx, st, key); rerr == nil && bytes.Equal(got, data) {
			err = nil
		}
	}
	if err != nil {
		return err
	}
	if loc, ok := st.(interface{ Root() string }); ok {
		makeReadOnly(loc.Root(), key)
	}
	return nil
}

// readObject reads a whole audit object (bounded).
func readObject(ctx context.Context, st objstore.Store, key string) ([]byte, error) {
	return objstore.ReadAll(ctx, st, key, maxObject)
}

// readSealed reads the two-line sealed object key (a head or a retention
// checkpoint) into v and checks its seal under mac. data is the object as
// stored; perr says where it is malformed (nothing else is then checked);
// err is a failed read or MAC computation.
func readSealed(ctx context.Context, st objstore.Store, mac MAC, key string, v any) (data []byte, sealOK bool, perr *FormatError, err error) {
	data, err = readObject(ctx, st, key)
	if err != nil {
		return nil, false, nil, err
	}
	s, body, err := parseSealed(data, v)
	if err != nil {
		if !errors.As(err, &perr) {
			return data, false, nil, err
		}
		return data, false, perr, nil
	}
	sealOK, err = checkMAC(ctx, mac, body, s)
	return data, sealOK, nil, err
}

// fill completes ev with the session's defaults and copies its maps.
func (l *Log) fill(ev Event) Event {
	if ev.Time.IsZero() {
		ev.Time = l.opt.Now()
	}
	ev.Time = ev.Time.UTC()
	if ev.Profile == "" {
		ev.Profile = l.opt.Profile
	}
	if ev.Operator == "" {
		ev.Operator = l.opt.Operator
	}
	if ev.Source == "" {
		ev.Source = l.opt.Source
	}
	if ev.Command == "" {
		ev.Command = l.opt.Command
	}
	ev.Target = maps.Clone(ev.Target)
	ev.Counts = maps.Clone(ev.Counts)
	if len(ev.Target) == 0 {
		ev.Target = nil
	}
	if len(ev.Counts) == 0 {
		ev.Counts = nil
	}
	return ev
}

// Append adds an event: it fills Time, Operator, Profile and Source when
// empty, and with the default Batch writes it durably before returning.
// It returns a *[PHIError] (nothing written) for an identifying-looking
// value, [ErrClosed] after Close, and an error wrapping [ErrSink] when the
// trail cannot be written; after a write error every later call fails.
func (l *Log) Append(ctx context.Context, ev Event) error {
	if err := ev.Check(); err != nil {
		return err
	}
	if ev.Action == ActionOpen || ev.Action == ActionClose {
		return fmt.Errorf("audit: action %s is reserved", ev.Action)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.refusedLocked(); err != nil {
		return err
	}
	l.pending = append(l.pending, l.fill(ev))
	if len(l.pending) >= l.opt.Batch {
		return l.flushLocked(ctx)
	}
	return nil
}

// Flush writes the events held in memory (see [Options.Batch]).
func (l *Log) Flush(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.refusedLocked(); err != nil {
		return err
	}
	return l.flushLocked(ctx)
}

// Close appends the session.close event, writes the last segment and
// closes the log. A second Close returns nil. The error wraps [ErrSink]
// when the segment cannot be written (the session then shows as unclosed
// in [Verify]).
func (l *Log) Close(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	if l.err != nil {
		return l.err
	}
	n := l.seq + int64(len(l.pending))
	l.pending = append(l.pending, l.fill(Event{Action: ActionClose, Outcome: OutcomeOK,
		Counts: map[string]int64{"events": n + 1}}))
	err := l.flushLocked(ctx)
	l.dek.Wipe()
	return err
}

// refusedLocked returns why l takes no more events: [ErrClosed] after
// Close, or the write error that stopped it; nil when it takes them. The
// caller holds l.mu.
func (l *Log) refusedLocked() error {
	if l.closed {
		return ErrClosed
	}
	return l.err
}

// flushLocked writes the pending events as the next part of the session.
func (l *Log) flushLocked(ctx context.Context) error {
	if len(l.pending) == 0 {
		return nil
	}
	h := Header{Segment: l.id, Part: l.part, Version: FormatVersion, Head: l.head, Prev: l.prev,
		Written: l.opt.Now().UTC().Format(TimeFormat)}
	if l.wrapped != "" {
		h.Version, h.DEK = SealedVersion, l.wrapped
	}
	var b bytes.Buffer
	last, _ := json.Marshal(h)
	b.Write(last)
	b.WriteByte('\n')
	seq := l.seq
	for _, ev := range l.pending {
		seq++
		line, err := json.Marshal(eventLine{Seq: seq, Time: ev.Time.Format(TimeFormat), Prev: digest(last), Event: ev})
		if err == nil && l.wrapped != "" {
			var ct []byte
			if ct, err = sealEvent(l.dek.Bytes(), l.id, seq, ev); err == nil {
				sl := sealedLine{Seq: seq, Time: ev.Time.Format(TimeFormat), Prev: digest(last), End: ev.Action == ActionClose, Sealed: ct}
				if l.opt.Signer != nil {
					sl.By = l.opt.Signer.OperatorID()
					sl.Sig, err = l.opt.Signer.Sign(ctx, eventSigMsg(l.id, sl.Seq, sl.Prev, sl.End, sl.Sealed))
				}
				if err == nil {
					line, err = json.Marshal(sl)
				}
			}
		}
		if err != nil {
			return fmt.Errorf("audit: encode event: %w", err)
		}
		b.Write(line)
		b.WriteByte('\n')
		last = line
	}
	s, err := seal(ctx, l.mac, b.Bytes(), last)
	if err != nil {
		l.err = fmt.Errorf("%w: %w", ErrSink, err)
		return l.err
	}
	sb, _ := json.Marshal(s)
	b.Write(sb)
	b.WriteByte('\n')
	if err := l.put(ctx, partKey(l.id, l.part), b.Bytes()); err != nil {
		l.err = fmt.Errorf("%w: write segment: %w", ErrSink, err)
		return l.err
	}
	l.prev = digest(b.Bytes())
	l.part++
	l.seq = seq
	l.pending = l.pending[:0]
	return nil
}
