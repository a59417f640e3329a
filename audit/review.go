package audit

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"hdw/objstore"
)

// Anomaly kinds reported by [Review].
const (
	AnomalyReidentification = "reidentification"
	AnomalyRefused          = "refused"
	AnomalyQuarantine       = "quarantine"
	AnomalyAlert            = "alert"
	AnomalyKeyOperation     = "key-operation"
	AnomalyOffHours         = "off-hours"
	AnomalyPullBurst        = "pull-burst"
	AnomalyTrail            = "trail"    // a problem found by Verify
	AnomalyUnclosed         = "unclosed" // a session still open (or crashed)
	AnomalyAuth             = "auth"     // a failed unlock, a lock-out or a refused command (SRS-089)
)

// ReviewRules tune the review (SEC-DAY-3). Zero values take the defaults.
type ReviewRules struct {
	WorkStart, WorkEnd int            // working hours [start, end) in Location; default 7 and 20
	Location           *time.Location // time zone of the working hours; default UTC
	WeekendsWorked     bool           // Saturdays and Sundays are working days (else flagged)
	PullBurst          int            // workspace pulls by one operator within BurstWindow; default 10
	BurstWindow        time.Duration  // default 1h
}

func (r ReviewRules) withDefaults() ReviewRules {
	if r.WorkStart == 0 && r.WorkEnd == 0 {
		r.WorkStart, r.WorkEnd = 7, 20
	}
	if r.Location == nil {
		r.Location = time.UTC
	}
	if r.PullBurst <= 0 {
		r.PullBurst = 10
	}
	if r.BurstWindow <= 0 {
		r.BurstWindow = time.Hour
	}
	return r
}

// Anomaly is one event (or group of events) worth a human look. It holds
// the event's references, never its free text.
type Anomaly struct {
	Kind     string            `json:"kind"`
	Time     time.Time         `json:"time"`
	Session  string            `json:"session,omitempty"`
	Operator string            `json:"operator,omitempty"`
	Profile  string            `json:"profile,omitempty"`
	Command  string            `json:"command,omitempty"`
	Action   string            `json:"action,omitempty"`
	Target   map[string]string `json:"target,omitempty"`
	Detail   string            `json:"detail"`
}

// Review verifies the trail and lists the anomalies of the events since
// since (SEC-DAY-3): every problem of [Verify] first (kind "trail"), then
// re-identifications, refused accesses, quarantined exports and alerts,
// key operations, activity outside working hours (one per session),
// and bursts of workspace pulls. The caller records
// that the review ran (an "audit.review" event). Errors are those of
// [Verify].
// op opens the sealed payloads (SRS-091; admin and dpo only); nil reviews
// clear (FormatVersion) trails only.
func Review(ctx context.Context, st objstore.Store, mac MAC, op Opener, since time.Time, rules ReviewRules) ([]Anomaly, Report, error) {
	rep, segs, err := verify(ctx, st, mac, op, time.Now())
	if err != nil {
		return nil, rep, err
	}
	var out []Anomaly
	for _, p := range rep.Problems {
		out = append(out, Anomaly{Kind: AnomalyTrail, Session: p.Segment,
			Detail: fmt.Sprintf("%s: %s (%s line %d)", p.Kind, p.Detail, p.File, p.Line)})
	}
	auth, err := Records(ctx, st, "")
	if err != nil {
		return nil, rep, err
	}
	for _, r := range auth {
		if r.Time.Before(since) || r.Kind == AuthOK {
			continue
		}
		out = append(out, Anomaly{Kind: AnomalyAuth, Time: r.Time, Operator: r.Operator, Profile: r.Profile, Command: r.Command,
			Action: r.Kind, Detail: r.Reason})
	}
	for _, a := range Anomalies(segs, since, rules) {
		// Old unclosed sessions are already trail problems; young ones are
		// running (among them the reviewing command itself).
		if a.Kind != AnomalyUnclosed {
			out = append(out, a)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		ti, tj := out[i].Kind == AnomalyTrail, out[j].Kind == AnomalyTrail
		if ti != tj {
			return ti // trail problems first
		}
		return !ti && out[i].Time.Before(out[j].Time)
	})
	return out, rep, nil
}

// Anomalies applies the review rules to verified sessions (see [Review]),
// in time order. It is pure: tests drive it with fixed clocks.
func Anomalies(segs []Segment, since time.Time, rules ReviewRules) []Anomaly {
	rules = rules.withDefaults()
	var out []Anomaly
	type pull struct {
		t       time.Time
		profile string
	}
	pulls := map[string][]pull{}
	for _, s := range segs {
		offHours := false
		for _, e := range s.Events {
			if e.Time.Before(since) {
				continue
			}
			a := Anomaly{Time: e.Time, Session: s.ID, Operator: e.Operator, Profile: e.Profile,
				Command: e.Command, Action: e.Action, Target: e.Target}
			switch {
			case strings.Contains(e.Action, "reidentif") || e.Command == "reidentify":
				a.Kind, a.Detail = AnomalyReidentification, "re-identification (SEC-REI): check its request reference"
			case e.Outcome == OutcomeDenied:
				a.Kind, a.Detail = AnomalyRefused, "refused access"
			case e.Outcome == OutcomeQuarantined || strings.Contains(e.Action, "quarantine"):
				a.Kind, a.Detail = AnomalyQuarantine, "quarantined export or file"
			case e.Outcome == OutcomeAlert:
				a.Kind, a.Detail = AnomalyAlert, "alert raised"
			case strings.HasPrefix(e.Action, "keys.") || strings.HasPrefix(e.Command, "keys") ||
				e.Action == "warehouse.create":
				a.Kind, a.Detail = AnomalyKeyOperation, "key operation"
			}
			if a.Kind != "" {
				out = append(out, a)
			}
			if !offHours && outside(e.Time, rules) {
				offHours = true
				b := a
				b.Kind = AnomalyOffHours
				lt := e.Time.In(rules.Location)
				b.Detail = fmt.Sprintf("activity on %s at %02d:%02d, outside %02d-%02d", lt.Weekday(), lt.Hour(), lt.Minute(), rules.WorkStart, rules.WorkEnd)
				out = append(out, b)
			}
			if e.Outcome != OutcomeDenied && (strings.Contains(e.Action, "pull") || e.Command == "workspace pull") {
				pulls[e.Operator] = append(pulls[e.Operator], pull{e.Time, e.Profile})
			}
		}
		if !s.Closed && len(s.Events) > 0 && !s.Events[len(s.Events)-1].Time.Before(since) {
			last := s.Events[len(s.Events)-1]
			out = append(out, Anomaly{Kind: AnomalyUnclosed, Time: last.Time, Session: s.ID, Operator: last.Operator,
				Profile: last.Profile, Detail: "session without a close event: still running, crashed, or truncated"})
		}
	}
	for _, op := range slices.Sorted(maps.Keys(pulls)) {
		ps := pulls[op]
		sort.Slice(ps, func(i, j int) bool { return ps[i].t.Before(ps[j].t) })
		for i := 0; i < len(ps); {
			j := i
			for j < len(ps) && ps[j].t.Sub(ps[i].t) <= rules.BurstWindow {
				j++
			}
			if j-i >= rules.PullBurst {
				out = append(out, Anomaly{Kind: AnomalyPullBurst, Time: ps[i].t, Operator: op, Profile: ps[i].profile,
					Action: "workspace.pull", Detail: fmt.Sprintf("%d workspace pulls within %s", j-i, rules.BurstWindow)})
				i = j
				continue
			}
			i++
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out
}

// outside reports whether t falls outside the working hours.
func outside(t time.Time, r ReviewRules) bool {
	lt := t.In(r.Location)
	if !r.WeekendsWorked && (lt.Weekday() == time.Saturday || lt.Weekday() == time.Sunday) {
		return true
	}
	h := lt.Hour()
	if r.WorkStart <= r.WorkEnd {
		return h < r.WorkStart || h >= r.WorkEnd
	}
	return h < r.WorkStart && h >= r.WorkEnd // hours across midnight, e.g. 20-06
}
