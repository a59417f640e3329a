package audit

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
)

// TimeFormat is the event time format: UTC, RFC 3339 with milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Outcomes used by hdw commands; [Review] keys on them.
const (
	OutcomeOK          = "ok"
	OutcomeDenied      = "denied"
	OutcomeFailed      = "failed"
	OutcomeQuarantined = "quarantined"
	OutcomeAlert       = "alert"
)

// Actions written by the log itself.
const (
	ActionOpen  = "session.open"
	ActionClose = "session.close"
)

// Event is one audit event (SRS-055..058, SEC-DAY-1). It never holds an
// identifying value: references (batch, project, export, request), counts
// and pseudonyms at most. [Log.Append] fills Time, Operator, Profile and
// Source when they are empty.
type Event struct {
	Time     time.Time         `json:"-"`                 // UTC, written with TimeFormat
	Operator string            `json:"operator"`          // LH-SVC-<uuid>, Vault entity id (ENS OP.ACC.1)
	Profile  string            `json:"profile"`           // profile of the session
	Command  string            `json:"command,omitempty"` // "ingest", "workspace pull", ...
	Action   string            `json:"action"`            // "batch.commit", "export.quarantine", ...
	Target   map[string]string `json:"target,omitempty"`  // references, never PHI
	Outcome  string            `json:"outcome,omitempty"` // ok, denied, failed, quarantined, alert
	Counts   map[string]int64  `json:"counts,omitempty"`
	Source   string            `json:"source,omitempty"` // hostname or address of the runner
	Reason   string            `json:"reason,omitempty"` // free text without PHI
}

// ErrPHI is returned (wrapped in a *[PHIError]) for an event with a value
// shaped like identifying data. Callers branch on it with errors.Is.
var ErrPHI = errors.New("audit: value looks identifying; events must not hold identifying data")

// PHIError names the field and the kind of pattern refused, never the value.
type PHIError struct {
	Field string // "target.request", "reason", ...
	Kind  string // "nir", "email", "phone", "date", "identifying field"
}

func (e *PHIError) Error() string {
	return fmt.Sprintf("audit: %s looks like a %s; events must not hold identifying data", e.Field, e.Kind)
}

// Unwrap returns [ErrPHI].
func (e *PHIError) Unwrap() error { return ErrPHI }

var (
	// NIR: sex, year, month, department (2A/2B for Corsica), commune,
	// order, optional key: 13 or 15 digits, spaces allowed.
	nirRe      = regexp.MustCompile(`\b[1-478]\s?\d{2}\s?\d{2}\s?(?:\d{2}|2[ABab])\s?\d{3}\s?\d{3}(?:\s?\d{2})?\b`)
	emailRe    = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	phoneRe    = regexp.MustCompile(`(?:\+33\s?|\b0)[1-9](?:[\s.-]?\d{2}){4}\b|\+[1-9]\d{7,14}\b`)
	dateRe     = regexp.MustCompile(`\b(?:1[89]|20)\d{2}[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])\b|\b(?:0?[1-9]|[12]\d|3[01])[-/.](?:0?[1-9]|1[0-2])[-/.](?:1[89]|20)\d{2}\b`)
	keySplitRe = regexp.MustCompile(`[^a-z0-9]+`)
)

// idWords are the words of a key that names an identifying field of the
// manifest (ARCHITECTURE §2).
var idWords = map[string]bool{"nir": true, "ssn": true, "birth": true, "birthdate": true, "dob": true,
	"naissance": true, "name": true, "lastname": true, "firstname": true, "nom": true, "prenom": true,
	"address": true, "adresse": true, "phone": true, "tel": true, "telephone": true, "email": true,
	"mail": true, "postal": true, "zip": true, "city": true, "ville": true, "ppi": true, "iep": true}

// identifyingKey reports whether a map key names an identifying field.
func identifyingKey(k string) bool {
	for _, w := range keySplitRe.Split(strings.ToLower(k), -1) {
		if idWords[w] {
			return true
		}
	}
	return false
}

// dateKeys are the target keys whose value may be a date (a period, never
// a date of birth).
var dateKeys = map[string]bool{"since": true, "until": true, "from": true, "to": true,
	"expires": true, "cutoff": true, "before": true, "after": true}

// Check refuses an event that holds a value shaped like a NIR, an email, a
// phone number or a date (outside the period keys since, until, from, to,
// expires, cutoff, before, after), or a target key naming an identifying
// field (SEC-DAY-1: never an identifying value in the trail). It is a
// safety net: callers remain responsible for what they log. The error is a
// *[PHIError] wrapping [ErrPHI]; it never quotes the value.
func (e Event) Check() error {
	type fv struct{ field, val string }
	vals := []fv{{"reason", e.Reason}, {"command", e.Command}, {"action", e.Action},
		{"outcome", e.Outcome}, {"source", e.Source}, {"operator", e.Operator}, {"profile", e.Profile}}
	for k, v := range e.Target {
		if identifyingKey(k) {
			return &PHIError{Field: "target key", Kind: "identifying field"}
		}
		if !dateKeys[k] && dateRe.MatchString(v) {
			return &PHIError{Field: "target." + k, Kind: "date"}
		}
		vals = append(vals, fv{"target key", k}, fv{"target." + k, v})
	}
	for k, n := range e.Counts {
		if identifyingKey(k) {
			return &PHIError{Field: "counts key", Kind: "identifying field"}
		}
		vals = append(vals, fv{"counts key", k})
		if n >= 1e12 {
			// a 13- or 15-digit number is more likely a NIR than a count
			if s := fmt.Sprint(n); nirRe.MatchString(s) {
				return &PHIError{Field: "counts." + k, Kind: "nir"}
			}
		}
	}
	for _, v := range vals {
		if v.val == "" {
			continue
		}
		switch {
		case nirRe.MatchString(v.val):
			return &PHIError{Field: v.field, Kind: "nir"}
		case emailRe.MatchString(v.val):
			return &PHIError{Field: v.field, Kind: "email"}
		case v.field == "source" || v.field == "operator" || v.field == "profile":
			// ids and host names: only NIR and email shapes, so that a
			// host name with digits never blocks every command
		case phoneRe.MatchString(v.val):
			return &PHIError{Field: v.field, Kind: "phone"}
		case v.field == "reason" && dateRe.MatchString(v.val):
			return &PHIError{Field: v.field, Kind: "date"}
		}
	}
	return nil
}
