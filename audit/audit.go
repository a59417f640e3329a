package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"hdw/keys"
	"hdw/objstore"
)

// TimeFormat is the event time format: UTC, RFC 3339 with milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Event is one audit event. It never holds an identifying value.
type Event struct {
	Time     time.Time         `json:"-"`
	Operator string            `json:"operator"`
	Profile  string            `json:"profile"`
	Command  string            `json:"command"`
	Action   string            `json:"action"`
	Target   map[string]string `json:"target,omitempty"`
	Outcome  string            `json:"outcome"`
	Counts   map[string]int64  `json:"counts,omitempty"`
	Source   string            `json:"source,omitempty"`
	Reason   string            `json:"reason,omitempty"`
}

// ErrPHI is returned by Check for a value that looks identifying.
var ErrPHI = errors.New("audit: value looks identifying (NIR, email or phone); events must not hold identifying data")

var phiPatterns = []*regexp.Regexp{
	regexp.MustCompile(`\b[1-478]\s?\d{2}\s?\d{2}\s?(?:\d{2}|2[AB])\s?\d{3}\s?\d{3}(?:\s?\d{2})?\b`),
	regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`),
	regexp.MustCompile(`(?:\+33|\b0)[1-9](?:[\s.-]?\d{2}){4}\b`),
}

// Check refuses events whose target or reason looks identifying.
func (e Event) Check() error {
	vals := []string{e.Reason, e.Command, e.Action}
	for k, v := range e.Target {
		vals = append(vals, k, v)
	}
	for _, v := range vals {
		for _, p := range phiPatterns {
			if p.MatchString(v) {
				return ErrPHI
			}
		}
	}
	return nil
}

// MAC computes the seal of a segment. The local implementation is HMAC; a
// Vault transit hmac can back it without releasing the key.
type MAC interface {
	Sum(ctx context.Context, data []byte) ([]byte, error)
}

type hmacMAC struct{ key keys.Secret }

// HMAC returns the local MAC under the audit key.
func HMAC(key keys.Secret) MAC { return hmacMAC{key: keys.NewSecret(key.Bytes())} }

func (h hmacMAC) Sum(_ context.Context, data []byte) ([]byte, error) {
	m := hmac.New(sha256.New, h.key.Bytes())
	m.Write(data)
	return m.Sum(nil), nil
}

// Locker is implemented by stores with write-once retention (S3 Object Lock).
type Locker interface {
	PutLocked(ctx context.Context, key string, r io.Reader, mode string, until time.Time) error
}

// Options configure a Log.
type Options struct {
	Profile, Operator, Source string
	LockMode                  string        // "", GOVERNANCE or COMPLIANCE
	LockFor                   time.Duration // retention of locked segments
	Now                       func() time.Time
}

// Log is an open session segment.
type Log struct {
	mu     sync.Mutex
	st     objstore.Store
	mac    MAC
	opt    Options
	id     string
	buf    bytes.Buffer
	prev   string
	seq    int
	closed bool
}

type header struct {
	Segment     string `json:"segment"`
	Version     int    `json:"version"`
	PrevSegment string `json:"prev_segment"`
	Opened      string `json:"opened"`
}

type line struct {
	Seq  int    `json:"seq"`
	Time string `json:"time"`
	Prev string `json:"prev"`
	Event
}

func newID(now time.Time) string {
	b := make([]byte, 8)
	rand.Read(b)
	return now.UTC().Format("20060102T150405.000Z") + "-" + hex.EncodeToString(b)
}

// Open starts a session: it writes the opening event first and fails if
// the sink cannot be written, so that the command does not act (SRS-065).
func Open(ctx context.Context, st objstore.Store, mac MAC, opt Options) (*Log, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	now := opt.Now().UTC()
	l := &Log{st: st, mac: mac, opt: opt, id: newID(now)}
	prevSeg, err := latestSegment(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("audit: read trail: %w", err)
	}
	h, _ := json.Marshal(header{Segment: l.id, Version: 1, PrevSegment: prevSeg, Opened: now.Format(TimeFormat)})
	l.buf.Write(h)
	l.buf.WriteByte('\n')
	l.prev = digest(h)
	open, _ := json.Marshal(map[string]string{"segment": l.id, "time": now.Format(TimeFormat), "profile": opt.Profile,
		"operator": opt.Operator, "source": opt.Source, "action": "session.open"})
	if err := st.PutIfAbsent(ctx, "audit/open/"+l.id+".json", bytes.NewReader(open)); err != nil {
		return nil, fmt.Errorf("audit: sink not writable: %w", err)
	}
	return l, nil
}

func digest(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// latestSegment returns the digest of the newest closed segment ("" if none).
func latestSegment(ctx context.Context, st objstore.Store) (string, error) {
	var last string
	for info, err := range st.List(ctx, "audit/segments/") {
		if err != nil {
			return "", err
		}
		if strings.HasSuffix(info.Key, ".jsonl") && info.Key > last {
			last = info.Key
		}
	}
	if last == "" {
		return "", nil
	}
	r, err := st.Open(ctx, last)
	if err != nil {
		return "", err
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(r, 256<<20)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Append adds an event to the session.
func (l *Log) Append(ctx context.Context, ev Event) error {
	if err := ev.Check(); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return errors.New("audit: append after close")
	}
	if ev.Time.IsZero() {
		ev.Time = l.opt.Now()
	}
	if ev.Profile == "" {
		ev.Profile = l.opt.Profile
	}
	if ev.Operator == "" {
		ev.Operator = l.opt.Operator
	}
	if ev.Source == "" {
		ev.Source = l.opt.Source
	}
	l.seq++
	b, err := json.Marshal(line{Seq: l.seq, Time: ev.Time.UTC().Format(TimeFormat), Prev: l.prev, Event: ev})
	if err != nil {
		return err
	}
	l.buf.Write(b)
	l.buf.WriteByte('\n')
	l.prev = digest(b)
	return nil
}

// Close seals the segment with the MAC and writes it once.
func (l *Log) Close(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	sum, err := l.mac.Sum(ctx, l.buf.Bytes())
	if err != nil {
		return fmt.Errorf("audit: seal segment: %w", err)
	}
	fmt.Fprintf(&l.buf, "{\"mac\":%q}\n", hex.EncodeToString(sum))
	key := "audit/segments/" + l.id + ".jsonl"
	if lk, ok := l.st.(Locker); ok && l.opt.LockMode != "" {
		err = lk.PutLocked(ctx, key, bytes.NewReader(l.buf.Bytes()), l.opt.LockMode, l.opt.Now().Add(l.opt.LockFor))
	} else {
		err = l.st.PutIfAbsent(ctx, key, bytes.NewReader(l.buf.Bytes()))
	}
	if err != nil {
		return fmt.Errorf("audit: write segment: %w", err)
	}
	if loc, ok := l.st.(interface{ Root() string }); ok {
		makeReadOnly(loc.Root(), key)
	}
	return nil
}

// Problem is one finding of Verify.
type Problem struct {
	Segment string `json:"segment"`
	Line    int    `json:"line,omitempty"`
	Kind    string `json:"kind"` // edited, reordered, missing-event, truncated, bad-mac, missing-segment, unclosed, unreadable
	Detail  string `json:"detail"`
}

// Report is the result of Verify.
type Report struct {
	OK       bool      `json:"ok"`
	Segments int       `json:"segments"`
	Events   int       `json:"events"`
	First    *Problem  `json:"first_problem,omitempty"`
	Problems []Problem `json:"problems,omitempty"`
}

// Segment is a parsed, verified segment.
type Segment struct {
	ID     string
	Digest string
	Prev   string
	Events []Event
}

// ErrFormat is wrapped by parse errors.
var ErrFormat = errors.New("audit: malformed segment")

// ParseSegment parses and checks one segment's bytes: chain, sequence and
// MAC. It returns the events it could read and the problems found.
func ParseSegment(ctx context.Context, name string, data []byte, mac MAC) (Segment, []Problem) {
	seg := Segment{ID: name, Digest: digest(data)}
	var probs []Problem
	add := func(ln int, kind, detail string) {
		probs = append(probs, Problem{Segment: name, Line: ln, Kind: kind, Detail: detail})
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	var lines [][]byte
	for sc.Scan() {
		lines = append(lines, append([]byte(nil), sc.Bytes()...))
	}
	if len(lines) < 2 {
		add(1, "truncated", "segment has no header or no seal")
		return seg, probs
	}
	var h header
	if err := json.Unmarshal(lines[0], &h); err != nil || h.Segment == "" {
		add(1, "edited", "header unreadable")
		return seg, probs
	}
	seg.Prev = h.PrevSegment
	last := lines[len(lines)-1]
	var seal struct {
		MAC string `json:"mac"`
	}
	sealed := json.Unmarshal(last, &seal) == nil && seal.MAC != ""
	body := lines
	if sealed {
		body = lines[:len(lines)-1]
		var content bytes.Buffer
		for _, l := range body {
			content.Write(l)
			content.WriteByte('\n')
		}
		sum, err := mac.Sum(ctx, content.Bytes())
		if err != nil || hex.EncodeToString(sum) != seal.MAC {
			add(len(lines), "bad-mac", "the seal does not match the content (edited, or sealed with another key)")
		}
	} else {
		add(len(lines), "truncated", "the seal line is missing (events cut off at the end)")
	}
	prev := digest(body[0])
	seq := 0
	for i, raw := range body[1:] {
		ln := i + 2
		var l line
		if err := json.Unmarshal(raw, &l); err != nil {
			add(ln, "edited", "event unreadable")
			prev = digest(raw)
			continue
		}
		switch {
		case l.Seq <= seq:
			add(ln, "reordered", fmt.Sprintf("sequence %d after %d", l.Seq, seq))
		case l.Seq > seq+1:
			add(ln, "missing-event", fmt.Sprintf("sequence jumps from %d to %d", seq, l.Seq))
		}
		if l.Prev != prev && (l.Seq == seq+1) {
			add(ln, "edited", "hash chain broken: the previous event was changed")
		}
		seq = l.Seq
		prev = digest(raw)
		ev := l.Event
		ev.Time, _ = time.Parse(TimeFormat, l.Time)
		seg.Events = append(seg.Events, ev)
	}
	return seg, probs
}

// Verify recomputes every chain of the trail (SRS-060, SRS-061).
func Verify(ctx context.Context, st objstore.Store, mac MAC) (Report, []Segment, error) {
	var rep Report
	var segs []Segment
	digests := map[string]bool{}
	ids := map[string]bool{}
	for info, err := range st.List(ctx, "audit/segments/") {
		if err != nil {
			return rep, nil, err
		}
		if !strings.HasSuffix(info.Key, ".jsonl") {
			continue
		}
		r, err := st.Open(ctx, info.Key)
		if err != nil {
			return rep, nil, err
		}
		data, err := io.ReadAll(io.LimitReader(r, 256<<20))
		r.Close()
		if err != nil {
			return rep, nil, err
		}
		name := strings.TrimSuffix(strings.TrimPrefix(info.Key, "audit/segments/"), ".jsonl")
		seg, probs := ParseSegment(ctx, name, data, mac)
		rep.Problems = append(rep.Problems, probs...)
		segs = append(segs, seg)
		digests[seg.Digest] = true
		ids[name] = true
		rep.Events += len(seg.Events)
	}
	rep.Segments = len(segs)
	for info, err := range st.List(ctx, "audit/retention/") {
		if err != nil {
			return rep, nil, err
		}
		r, err := st.Open(ctx, info.Key)
		if err != nil {
			return rep, nil, err
		}
		var cp checkpoint
		json.NewDecoder(io.LimitReader(r, 64<<20)).Decode(&cp)
		r.Close()
		for _, d := range cp.Digests {
			digests[d] = true
		}
		for _, id := range cp.IDs {
			ids[id] = true
		}
	}
	for _, s := range segs {
		if s.Prev != "" && !digests[s.Prev] {
			rep.Problems = append(rep.Problems, Problem{Segment: s.ID, Kind: "missing-segment",
				Detail: "the segment it follows is gone (deleted or altered)"})
		}
	}
	for info, err := range st.List(ctx, "audit/open/") {
		if err != nil {
			return rep, nil, err
		}
		id := strings.TrimSuffix(strings.TrimPrefix(info.Key, "audit/open/"), ".json")
		if !ids[id] {
			rep.Problems = append(rep.Problems, Problem{Segment: id, Kind: "unclosed",
				Detail: "a session opened but its segment is missing (deleted, or the command crashed)"})
		}
	}
	sort.SliceStable(rep.Problems, func(i, j int) bool {
		if rep.Problems[i].Segment != rep.Problems[j].Segment {
			return rep.Problems[i].Segment < rep.Problems[j].Segment
		}
		return rep.Problems[i].Line < rep.Problems[j].Line
	})
	rep.OK = len(rep.Problems) == 0
	if !rep.OK {
		rep.First = &rep.Problems[0]
	}
	return rep, segs, nil
}
