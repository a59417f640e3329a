package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// FormatVersion is the version written in the header of a segment whose
// event payloads are in clear (trails written before SRS-091 encryption,
// and sessions without an audit store key).
const FormatVersion = 2

// SealedVersion is the version of a segment whose event payloads are
// encrypted (SRS-091): the header carries the session's wrapped data key,
// each event line carries seq, time, prev, end (the session.close line)
// and the AES-256-GCM sealed event; the hash chain and the MAC cover the
// ciphertext, so verification needs no decryption key.
const SealedVersion = 3

// ErrFormat is wrapped by every *[FormatError].
var ErrFormat = errors.New("audit: malformed segment")

// FormatError reports the first line of a segment or head object that is
// not in the canonical format. Line is 1-based.
type FormatError struct {
	Line int
	Msg  string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("audit: malformed segment, line %d: %s", e.Line, e.Msg)
}

// Unwrap returns [ErrFormat].
func (e *FormatError) Unwrap() error { return ErrFormat }

// Header is the first line of a segment (one part of a session).
type Header struct {
	Segment string `json:"segment"` // session id
	Part    int    `json:"part"`    // 0, 1, 2, ... within the session
	Version int    `json:"version"`
	Head    int64  `json:"head"`    // number of the session's head (audit/heads/<n>)
	Prev    string `json:"prev"`    // part 0: SHA-256 of the head object; part k: of part k-1
	Written string `json:"written"` // when the part was written (TimeFormat)
	// DEK is the session's payload data key wrapped by the audit store key
	// (keys.AuditStore), base64; SealedVersion only.
	DEK string `json:"dek,omitempty"`
}

// Record is one event line of a segment.
type Record struct {
	Seq  int64  // per-session sequence, from 1, continuous across parts
	Prev string // SHA-256 (hex) of the previous line
	Line int    // 1-based line number in the segment
	// Sealed is the encrypted event (nonce || AES-256-GCM) of a
	// SealedVersion segment; Event then holds only Time until opened.
	Sealed []byte
	// End marks the session.close event of a SealedVersion segment.
	End bool
	// By and Sig are the operator's id and signature (SealedVersion).
	By  string
	Sig []byte
	Event
}

// sealedLine is an event line of a SealedVersion segment.
type sealedLine struct {
	Seq    int64  `json:"seq"`
	Time   string `json:"time"`
	Prev   string `json:"prev"`
	End    bool   `json:"end,omitempty"`
	Sealed []byte `json:"sealed"`
	// By and Sig: the acting operator's id and ed25519 signature of
	// [eventSigMsg] (ENS OP.ACC.1), when the session has a signer.
	By  string `json:"by,omitempty"`
	Sig []byte `json:"sig,omitempty"`
}

// eventSigMsg is what an operator signs for one sealed event line: the
// session, the sequence, the link to the previous line, the close mark and
// the ciphertext, so that a signed event can be neither edited, moved nor
// replayed elsewhere.
func eventSigMsg(segment string, seq int64, prev string, end bool, sealed []byte) []byte {
	return fmt.Appendf(nil, "hdw audit event v1\n%s\n%d\n%s\n%t\n%x\n", segment, seq, prev, end, sealed)
}

type eventLine struct {
	Seq  int64  `json:"seq"`
	Time string `json:"time"`
	Prev string `json:"prev"`
	Event
}

// Seal is the last line of a segment: the hash of the line before it and
// the MAC (hex) of every byte before the seal line.
type Seal struct {
	Prev string `json:"prev"`
	MAC  string `json:"mac"`
}

// Part is a parsed segment object.
type Part struct {
	Header  Header
	Records []Record
	Seal    *Seal // nil when the seal line is missing (truncated)
	// SealLine is the 1-based line of the seal (or of the missing seal).
	SealLine int
	// Body is the bytes covered by the MAC (everything before the seal line).
	Body  []byte
	lines [][]byte
}

// digest returns the hex SHA-256 of b.
func digest(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// canonical unmarshals raw strictly into v and checks that marshaling v
// gives raw back byte for byte: no unknown, duplicate or reordered keys,
// no extra spaces.
func canonical(raw []byte, v any) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil || dec.More() {
		return false
	}
	out, err := json.Marshal(v)
	return err == nil && bytes.Equal(out, raw)
}

// ParsePart parses one segment object strictly. It does not check hashes
// or the MAC (see [Verify]). On a malformed line it returns the records
// read before that line and a *[FormatError]. A segment whose last line is
// an event (no seal) parses with a nil Seal.
func ParsePart(data []byte) (*Part, error) {
	p := &Part{}
	if len(data) == 0 {
		return p, &FormatError{Line: 1, Msg: "empty segment"}
	}
	if data[len(data)-1] != '\n' {
		return p, &FormatError{Line: bytes.Count(data, []byte("\n")) + 1, Msg: "missing final newline"}
	}
	p.lines = bytes.Split(data[:len(data)-1], []byte("\n"))
	if !canonical(p.lines[0], &p.Header) || p.Header.Segment == "" || p.Header.Part < 0 ||
		!(p.Header.Version == FormatVersion && p.Header.DEK == "" || p.Header.Version == SealedVersion && p.Header.DEK != "") {
		return p, &FormatError{Line: 1, Msg: "bad header"}
	}
	sealed := p.Header.Version == SealedVersion
	last := len(p.lines) - 1
	off := len(p.lines[0]) + 1
	for i := 1; i <= last; i++ {
		raw := p.lines[i]
		if i == last {
			var s Seal
			if canonical(raw, &s) && s.MAC != "" {
				p.Seal, p.SealLine, p.Body = &s, i+1, data[:off]
				return p, nil
			}
		}
		var l eventLine
		var sl sealedLine
		if sealed {
			if !canonical(raw, &sl) || sl.Seq <= 0 || len(sl.Sealed) == 0 {
				return p, &FormatError{Line: i + 1, Msg: "bad event line"}
			}
			l = eventLine{Seq: sl.Seq, Time: sl.Time, Prev: sl.Prev}
		} else if !canonical(raw, &l) || l.Seq <= 0 {
			return p, &FormatError{Line: i + 1, Msg: "bad event line"}
		}
		t, err := time.Parse(TimeFormat, l.Time)
		if err != nil || t.Format(TimeFormat) != l.Time {
			return p, &FormatError{Line: i + 1, Msg: "bad event time"}
		}
		l.Event.Time = t.UTC()
		p.Records = append(p.Records, Record{Seq: l.Seq, Prev: l.Prev, Line: i + 1, Event: l.Event, Sealed: sl.Sealed, End: sl.End, By: sl.By, Sig: sl.Sig})
		off += len(raw) + 1
	}
	p.SealLine = len(p.lines) + 1
	p.Body = data
	return p, nil
}

// Marshal returns the canonical bytes of p; for a part returned by
// [ParsePart] without error they equal the parsed bytes.
func (p *Part) Marshal() []byte {
	var b bytes.Buffer
	h, _ := json.Marshal(p.Header)
	b.Write(h)
	b.WriteByte('\n')
	for _, r := range p.Records {
		l, _ := json.Marshal(eventLine{Seq: r.Seq, Time: r.Event.Time.UTC().Format(TimeFormat), Prev: r.Prev, Event: r.Event})
		if p.Header.Version == SealedVersion {
			l, _ = json.Marshal(sealedLine{Seq: r.Seq, Time: r.Event.Time.UTC().Format(TimeFormat), Prev: r.Prev, End: r.End, Sealed: r.Sealed, By: r.By, Sig: r.Sig})
		}
		b.Write(l)
		b.WriteByte('\n')
	}
	if p.Seal != nil {
		s, _ := json.Marshal(p.Seal)
		b.Write(s)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// headRecord is the content of audit/heads/<n>: the claim of a place in
// the global order of sessions.
type headRecord struct {
	N       int64  `json:"n"`
	Segment string `json:"segment"`
	Prev    string `json:"prev"` // SHA-256 of head n-1 ("" for head 0)
	Opened  string `json:"opened"`
}

// parseSealed parses a two-line object (a head or a retention
// checkpoint): a record line decoded strictly into v, and a seal line. It
// returns the seal and the bytes the MAC covers.
func parseSealed(data []byte, v any) (Seal, []byte, error) {
	var s Seal
	lines := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
	if len(data) == 0 || data[len(data)-1] != '\n' || len(lines) != 2 {
		return s, nil, &FormatError{Line: 1, Msg: "want a record line and a seal line"}
	}
	if !canonical(lines[0], v) {
		return s, nil, &FormatError{Line: 1, Msg: "bad record"}
	}
	if !canonical(lines[1], &s) || s.MAC == "" || s.Prev != digest(lines[0]) {
		return s, nil, &FormatError{Line: 2, Msg: "bad seal"}
	}
	return s, data[:len(lines[0])+1], nil
}

// checkpoint records what retention removed: heads below Floor, whose last
// one hashes to Prev, and their sessions.
type checkpoint struct {
	Floor    int64    `json:"floor"`
	Prev     string   `json:"prev"`
	Sessions []string `json:"sessions"`
	Time     string   `json:"time"`
}
