package audit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"hdw/keys"
	"hdw/objstore"
)

// Problem kinds reported by [Verify].
const (
	KindMalformed      = "malformed"       // a line is not in the canonical format
	KindEdited         = "edited"          // the next link's hash does not match this line
	KindReordered      = "reordered"       // an event, part or head is out of its place
	KindMissingEvent   = "missing-event"   // a sequence number is missing
	KindTruncated      = "truncated"       // a segment lost its last lines (no seal)
	KindBadMAC         = "bad-mac"         // the seal does not match (edited or forged)
	KindMissingSegment = "missing-segment" // a head, a part or a whole session is gone
	KindUnclosed       = "unclosed"        // a session older than OpenGrace never closed
	KindUnlinked       = "unlinked"        // a session no head points to
	KindBadPayload     = "bad-payload"     // an encrypted payload does not open under its session key (review only)
	KindBadSignature   = "bad-signature"   // an event's operator signature does not verify (or its operator is unknown)
)

// OpenGrace is how long a session may stay without its session.close
// event before [Verify] reports it as unclosed (a crash, or deleted
// trailing segments). Younger sessions are listed in [Report.Open].
const OpenGrace = 24 * time.Hour

// HeadGrace is how long a head may point to no segment before [Verify]
// reports its session as deleted: [Open] writes the first segment right
// after the head, so only a session opening during the verification (or a
// clock skew between machines, SRS-063) falls within it.
const HeadGrace = 5 * time.Minute

// Problem is one finding of [Verify]: the object, the 1-based line where
// known, and the kind. It never holds event content.
type Problem struct {
	Segment string `json:"segment"` // session id, or the head/checkpoint object
	File    string `json:"file"`    // object key under the warehouse root
	Line    int    `json:"line,omitempty"`
	Kind    string `json:"kind"`
	Detail  string `json:"detail"`
}

// Report is the result of [Verify]. OK is true when no problem was found.
type Report struct {
	OK       bool      `json:"ok"`
	Sessions int       `json:"sessions"`
	Segments int       `json:"segments"` // segment objects (parts)
	Events   int       `json:"events"`
	First    *Problem  `json:"first_problem,omitempty"`
	Problems []Problem `json:"problems,omitempty"`
	Omitted  int       `json:"omitted,omitempty"` // problems beyond the first 1000
	// Checkpoints counts the checkpoints the trail still matches (set by
	// the caller of [VerifyCheckpoints]).
	Checkpoints int `json:"checkpoints,omitempty"`
	// Open lists sessions without a close event younger than OpenGrace
	// (running commands, among them the verifying one).
	Open []string `json:"open,omitempty"`
}

// Segment is a verified session: its events in order.
type Segment struct {
	ID     string
	Head   int64 // -1 when no head points to it
	Parts  int
	Closed bool
	Events []Event
}

// Verify recomputes every head link, part link, event hash chain and seal
// of the trail (SRS-060, SRS-061, SEC-DAY-2) and returns the problems in
// trail order: heads ascending, each followed by its session's parts and
// lines; Report.First is the first one. It also returns the parsed
// sessions (for [Review]). The error is for I/O and MAC failures only;
// tampering is reported in the Report.
func Verify(ctx context.Context, st objstore.Store, mac MAC) (Report, []Segment, error) {
	return verify(ctx, st, mac, nil, time.Now())
}

// VerifyOpen is [Verify] that also decrypts the sealed event payloads
// (SRS-091) with op (admin or dpo: keys.AuditStore), so that the returned
// sessions hold the events' content; without it they hold only times.
// A payload that does not open is a problem of kind [KindBadPayload]; a
// refused unwrap is an error.
func VerifyOpen(ctx context.Context, st objstore.Store, mac MAC, op Opener) (Report, []Segment, error) {
	return verify(ctx, st, mac, op, time.Now())
}

// Operators is the directory of enrolled operators (keys.Directory
// implements it): the public keys that check event signatures.
type Operators interface {
	Operator(ctx context.Context, id string) (keys.Operator, error)
}

// VerifySigned is [VerifyOpen] (op may be nil) that also checks every
// signed event line against the operator's public key in dir (ENS
// OP.ACC.1): a bad signature, or one by an operator never enrolled, is a
// problem of kind [KindBadSignature] naming the line.
func VerifySigned(ctx context.Context, st objstore.Store, mac MAC, op Opener, dir Operators) (Report, []Segment, error) {
	v := &verifier{dir: dir}
	return v.run(ctx, st, mac, op, time.Now())
}

type listing struct {
	heads       map[int64]string
	parts       map[string]map[int]string
	checkpoints []string
}

// list lists the trail: segments first, then heads, then checkpoints.
// A session's head is written before its first segment, and retention
// writes its checkpoint before it deletes, so a writer or a retention
// running meanwhile never makes a sound trail look broken.
func list(ctx context.Context, st objstore.Store) (listing, error) {
	ls := listing{heads: map[int64]string{}, parts: map[string]map[int]string{}}
	for _, prefix := range []string{segmentsPrefix, headsPrefix, retentionPrefix} {
		for info, err := range st.List(ctx, prefix) {
			if err != nil {
				return ls, fmt.Errorf("audit: list trail: %w", err)
			}
			ls.add(info.Key)
		}
	}
	return ls, nil
}

func (ls *listing) add(k string) {
	switch {
	case strings.HasPrefix(k, headsPrefix):
		if n, ok := headNumber(k); ok {
			ls.heads[n] = k
		}
	case strings.HasPrefix(k, segmentsPrefix):
		id, file, ok := strings.Cut(strings.TrimPrefix(k, segmentsPrefix), "/")
		num, isPart := strings.CutSuffix(file, ".jsonl")
		p, err := strconv.Atoi(num)
		if !ok || !isPart || err != nil || p < 0 || strings.Contains(file, "/") {
			return
		}
		if ls.parts[id] == nil {
			ls.parts[id] = map[int]string{}
		}
		ls.parts[id][p] = k
	case strings.HasPrefix(k, retentionPrefix):
		ls.checkpoints = append(ls.checkpoints, k)
	}
}

type verifier struct {
	dir  Operators // nil: signatures are not checked
	keys map[string]ed25519.PublicKey
	dc   *dekCache // nil: payloads stay sealed
	ctx  context.Context
	st   objstore.Store
	mac  MAC
	now  time.Time
	rep  Report
	segs []Segment
}

// maxProblems caps the problems listed in a Report; the rest are counted.
const maxProblems = 1000

func (v *verifier) add(seg, file string, line int, kind, detail string) {
	if len(v.rep.Problems) >= maxProblems {
		v.rep.Omitted++
		return
	}
	v.rep.Problems = append(v.rep.Problems, Problem{Segment: seg, File: file, Line: line, Kind: kind, Detail: detail})
}

func verify(ctx context.Context, st objstore.Store, mac MAC, op Opener, now time.Time) (Report, []Segment, error) {
	return (&verifier{}).run(ctx, st, mac, op, now)
}

// signed checks the operator signature of a sealed record.
func (v *verifier) signed(id string, r Record) (bool, error) {
	if r.By == "" {
		return true, nil // a session without an operator signer
	}
	pub, ok := v.keys[r.By]
	if !ok {
		o, err := v.dir.Operator(v.ctx, r.By)
		if err != nil && !errors.Is(err, keys.ErrOperatorNotFound) {
			return false, err
		}
		pub = o.PublicKey
		if v.keys == nil {
			v.keys = map[string]ed25519.PublicKey{}
		}
		v.keys[r.By] = pub
	}
	return len(pub) == ed25519.PublicKeySize && ed25519.Verify(pub, eventSigMsg(id, r.Seq, r.Prev, r.End, r.Sealed), r.Sig), nil
}

func (v *verifier) run(ctx context.Context, st objstore.Store, mac MAC, op Opener, now time.Time) (Report, []Segment, error) {
	v.ctx, v.st, v.mac, v.now = ctx, st, mac, now
	if op != nil {
		v.dc = &dekCache{op: op}
		defer v.dc.wipe()
	}
	ls, err := list(ctx, st)
	if err != nil {
		return v.rep, nil, err
	}
	// Retention checkpoints: the floor below which heads and their
	// sessions were removed on purpose (SEC-DAY-4).
	var floor int64
	floorPrev := ""
	retained := map[string]bool{}
	for _, k := range ls.checkpoints {
		var cp checkpoint
		_, ok, perr, err := readSealed(ctx, st, mac, k, &cp)
		if err != nil {
			return v.rep, nil, err
		}
		if perr != nil {
			v.add(k, k, perr.Line, KindMalformed, "retention checkpoint unreadable")
			continue
		}
		if !ok {
			v.add(k, k, 2, KindBadMAC, "retention checkpoint seal does not match")
			continue
		}
		if cp.Floor > floor {
			floor, floorPrev = cp.Floor, cp.Prev
		}
		for _, id := range cp.Sessions {
			retained[id] = true
		}
	}
	nums := make([]int64, 0, len(ls.heads))
	for n := range ls.heads {
		if n >= floor {
			nums = append(nums, n)
		}
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	linked := map[string]bool{}
	expected, prev, checkPrev := floor, floorPrev, true
	for _, n := range nums {
		k := ls.heads[n]
		if n != expected {
			v.add(headKey(expected), headKey(expected), 0, KindMissingSegment,
				fmt.Sprintf("heads %d to %d are gone: whole sessions deleted", expected, n-1))
			checkPrev = false
		}
		expected = n + 1
		var h headRecord
		data, ok, perr, err := readSealed(ctx, st, mac, k, &h)
		if err != nil {
			return v.rep, nil, err
		}
		if perr != nil {
			v.add(k, k, perr.Line, KindMalformed, "head unreadable")
			prev, checkPrev = digest(data), true
			continue
		}
		switch {
		case !ok:
			v.add(h.Segment, k, 2, KindBadMAC, "head seal does not match (edited or forged)")
		case h.N != n:
			v.add(h.Segment, k, 1, KindReordered, fmt.Sprintf("head %d stored as head %d", h.N, n))
		case checkPrev && h.Prev != prev:
			v.add(h.Segment, k, 1, KindReordered, fmt.Sprintf("head %d does not link to head %d (replaced or reordered)", n, n-1))
		}
		prev, checkPrev = digest(data), true
		if linked[h.Segment] {
			v.add(h.Segment, k, 1, KindReordered, "a second head for the same session")
			continue
		}
		linked[h.Segment] = true
		if opened, err := time.Parse(TimeFormat, h.Opened); err == nil && len(ls.parts[h.Segment]) == 0 &&
			v.now.Sub(opened) < HeadGrace && ok {
			// a session opening right now: its first segment comes next
			v.rep.Sessions++
			v.rep.Open = append(v.rep.Open, h.Segment)
			continue
		}
		if err := v.session(h.Segment, n, digest(data), ls.parts[h.Segment]); err != nil {
			return v.rep, nil, err
		}
	}
	var unlinked []string
	for id := range ls.parts {
		if !linked[id] && !retained[id] {
			unlinked = append(unlinked, id)
		}
	}
	sort.Strings(unlinked)
	for _, id := range unlinked {
		if err := v.session(id, -1, "", ls.parts[id]); err != nil {
			return v.rep, nil, err
		}
	}
	v.rep.OK = len(v.rep.Problems) == 0
	if !v.rep.OK {
		v.rep.First = &v.rep.Problems[0]
	}
	return v.rep, v.segs, nil
}

// session verifies the parts of one session. head is -1 for a session no
// head points to.
func (v *verifier) session(id string, head int64, headDigest string, parts map[int]string) error {
	v.rep.Sessions++
	seg := Segment{ID: id, Head: head}
	if len(parts) == 0 {
		v.add(id, partKey(id, 0), 0, KindMissingSegment, "the session's segments are gone")
		v.segs = append(v.segs, seg)
		return nil
	}
	nums := make([]int, 0, len(parts))
	for p := range parts {
		nums = append(nums, p)
	}
	sort.Ints(nums)
	if head < 0 {
		v.add(id, parts[nums[0]], 0, KindUnlinked, "no head points to this session (planted, or its head was deleted)")
	}
	var (
		seq       int64 // last sequence seen
		prev      = headDigest
		checkPrev = head >= 0
		lastWrite time.Time
		lastEv    string
	)
	next := 0
	resync := false
	for _, p := range nums {
		k := parts[p]
		if p != next {
			v.add(id, partKey(id, next), 0, KindMissingSegment,
				fmt.Sprintf("segments %d to %d of the session are gone", next, p-1))
			checkPrev, resync = false, true
		}
		next = p + 1
		data, err := readObject(v.ctx, v.st, k)
		if err != nil {
			return err
		}
		v.rep.Segments++
		part, perr := ParsePart(data)
		var fe *FormatError
		errors.As(perr, &fe)
		if perr == nil || fe.Line > 1 {
			h := part.Header
			switch {
			case h.Segment != id || h.Part != p:
				v.add(id, k, 1, KindReordered, "segment header names another session or part")
			case p == 0 && head >= 0 && h.Head != head:
				v.add(id, k, 1, KindReordered, "first segment names another head")
			case checkPrev && h.Prev != prev:
				v.add(id, k, 1, KindEdited, "segment does not link to the previous segment or head")
			}
			if t, err := time.Parse(TimeFormat, h.Written); err == nil {
				lastWrite = t
			}
		}
		prev, checkPrev = digest(data), true
		// Event lines: sequence first, then the hash link.
		lines := part.lines
		bad := false
		for j, r := range part.Records {
			if bad {
				break
			}
			if resync {
				seq, resync = r.Seq-1, false
			}
			want := seq + 1
			switch {
			case r.Seq != want && laterSeq(part.Records[j+1:], want):
				v.add(id, k, r.Line, KindReordered, fmt.Sprintf("event %d where %d belongs", r.Seq, want))
				bad = true
			case r.Seq != want:
				v.add(id, k, r.Line, KindMissingEvent, fmt.Sprintf("events %d to %d are missing", want, r.Seq-1))
				bad = true
			case r.Prev != digest(lines[r.Line-2]):
				v.add(id, k, r.Line-1, KindEdited, "this line was changed: the next event's hash does not match")
				bad = true
			}
			seq = r.Seq
			ev := r.Event
			if part.Header.Version == SealedVersion {
				if v.dir != nil {
					ok, err := v.signed(id, r)
					if err != nil {
						return err
					}
					if !ok {
						v.add(id, k, r.Line, KindBadSignature, "the event's operator signature does not verify (rewritten, or signed by someone else)")
					}
				}
				ev.Action = "sealed"
				if r.End {
					ev.Action = ActionClose
				}
				if v.dc != nil {
					dek, err := v.dc.get(v.ctx, part.Header.DEK)
					if err != nil && !errors.Is(err, ErrSealed) {
						return err
					}
					if err == nil {
						ev, err = openEvent(dek.Bytes(), id, r)
					}
					if err != nil {
						v.add(id, k, r.Line, KindBadPayload, "the event's encrypted payload does not open under its session key")
						ev = Event{Time: r.Event.Time, Action: "sealed"}
					}
					if err == nil && v.dir != nil && r.By != "" && ev.Operator != r.By {
						v.add(id, k, r.Line, KindBadSignature, "the event is signed by one operator and names another")
					}
				}
			}
			seg.Events = append(seg.Events, ev)
			lastEv = ev.Action
			v.rep.Events++
		}
		switch {
		case perr != nil:
			v.add(id, k, fe.Line, KindMalformed, fe.Msg)
			lastEv = ""
		case part.Seal == nil:
			v.add(id, k, part.SealLine, KindTruncated, "the seal line is missing: the segment was cut")
			lastEv = ""
		default:
			if !bad && part.Seal.Prev != digest(lines[part.SealLine-2]) {
				v.add(id, k, part.SealLine-1, KindEdited, "this line was changed: the seal's hash does not match")
			}
			ok, err := checkMAC(v.ctx, v.mac, part.Body, *part.Seal)
			if err != nil {
				return err
			}
			if !ok {
				v.add(id, k, part.SealLine, KindBadMAC, "the seal does not match the content (edited, or sealed with another key)")
			}
		}
	}
	seg.Parts = len(nums)
	seg.Closed = lastEv == ActionClose
	if !seg.Closed {
		if v.now.Sub(lastWrite) > OpenGrace {
			v.add(id, parts[nums[len(nums)-1]], 0, KindUnclosed,
				"the session never closed: the command crashed, or its last segments were deleted")
		} else {
			v.rep.Open = append(v.rep.Open, id)
		}
	}
	v.segs = append(v.segs, seg)
	return nil
}

// laterSeq reports whether seq appears in rs.
func laterSeq(rs []Record, seq int64) bool {
	for _, r := range rs {
		if r.Seq == seq {
			return true
		}
	}
	return false
}
