package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"hdw/objstore"
)

// Authentication records (SRS-089, SEC-DAY-1, ENS OP.ACC.1): every failed
// unlock or login and every command refused by the profile check is a
// record under audit/auth/<subject>/, written once by the failing process
// itself, which holds no key (a wrong passphrase opens nothing). A record
// holds the subject (profile or operator name), the profile, the command,
// the reason and the source; never a secret. The [Gate] counts the
// consecutive failures of a subject since its last success or unlock,
// delays the next attempt progressively and locks the subject out at the
// threshold.
const authPrefix = "audit/auth/"

// Auth record kinds.
const (
	AuthFailed  = "auth.failed"  // a wrong passphrase, token or operator key
	AuthLocked  = "auth.locked"  // an attempt refused because the subject is locked out
	AuthRefused = "auth.refused" // a command refused by the profile check
	AuthOK      = "auth.ok"      // a success after failures: resets the count
	AuthUnlock  = "auth.unlock"  // the admin lifted a lock-out
)

// ErrLockedOut is returned by [Gate.Before] for a subject whose consecutive
// failures reached the threshold: only the admin lifts it ([Gate.Unlock]).
var ErrLockedOut = errors.New("audit: locked out after too many failed attempts (SRS-089): the admin must unlock it")

// AuthRecord is one authentication record.
type AuthRecord struct {
	Time     time.Time `json:"time"`
	Kind     string    `json:"kind"`
	Subject  string    `json:"subject"` // profile, or operator:<name>
	Profile  string    `json:"profile,omitempty"`
	Operator string    `json:"operator,omitempty"`
	Command  string    `json:"command,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Source   string    `json:"source,omitempty"`
	Failures int       `json:"failures,omitempty"` // consecutive failures, this one included
}

// Gate enforces progressive delays and the lock-out threshold.
type Gate struct {
	St        objstore.Store
	Threshold int           // lock-out after this many consecutive failures; default 5
	Base      time.Duration // delay after the first failure; default 1s, doubling each time
	Max       time.Duration // longest delay; default 30s
	Now       func() time.Time
	Sleep     func(context.Context, time.Duration) // default: wait on a timer or ctx
}

func (g Gate) withDefaults() Gate {
	if g.Threshold <= 0 {
		g.Threshold = 5
	}
	if g.Base <= 0 {
		g.Base = time.Second
	}
	if g.Max <= 0 {
		g.Max = 30 * time.Second
	}
	if g.Now == nil {
		g.Now = time.Now
	}
	if g.Sleep == nil {
		g.Sleep = func(ctx context.Context, d time.Duration) {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
			}
		}
	}
	return g
}

// Delay is the wait before the next attempt after n consecutive failures:
// 0, then Base, 2 Base, 4 Base, ... capped at Max (SRS-089).
func (g Gate) Delay(n int) time.Duration {
	g = g.withDefaults()
	if n <= 0 {
		return 0
	}
	d := g.Base
	for i := 1; i < n && d < g.Max; i++ {
		d *= 2
	}
	return min(d, g.Max)
}

func subjectDir(subject string) string {
	return authPrefix + strings.NewReplacer(":", "_", "/", "_").Replace(subject) + "/"
}

// Records returns the authentication records of subject ("" for all), in
// time order.
func Records(ctx context.Context, st objstore.Store, subject string) ([]AuthRecord, error) {
	prefix := authPrefix
	if subject != "" {
		prefix = subjectDir(subject)
	}
	var out []AuthRecord
	for info, err := range st.List(ctx, prefix) {
		if err != nil {
			return nil, err
		}
		b, err := readObject(ctx, st, info.Key)
		if err != nil {
			return nil, err
		}
		var r AuthRecord
		if json.Unmarshal(b, &r) == nil {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}

// Failures returns the consecutive failures of subject since its last
// success or unlock.
func (g Gate) Failures(ctx context.Context, subject string) (int, error) {
	rs, err := Records(ctx, g.St, subject)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range rs {
		switch r.Kind {
		case AuthFailed, AuthLocked:
			n++
		case AuthOK, AuthUnlock:
			n = 0
		}
	}
	return n, nil
}

// Before is called before checking a subject's credentials: it returns
// [ErrLockedOut] (and records the attempt) at the threshold, else waits
// the progressive delay of the failures so far and returns their count.
func (g Gate) Before(ctx context.Context, r AuthRecord) (int, error) {
	g = g.withDefaults()
	n, err := g.Failures(ctx, r.Subject)
	if err != nil {
		return 0, err
	}
	if n >= g.Threshold {
		r.Kind, r.Failures = AuthLocked, n+1
		if r.Reason == "" {
			r.Reason = fmt.Sprintf("locked out after %d failed attempts", n)
		}
		g.Record(ctx, r)
		return n, ErrLockedOut
	}
	if d := g.Delay(n); d > 0 {
		g.Sleep(ctx, d)
	}
	return n, nil
}

// Failed records a failed attempt (r.Kind is set to [AuthFailed]).
func (g Gate) Failed(ctx context.Context, r AuthRecord) error {
	n, err := g.Failures(ctx, r.Subject)
	if err != nil {
		return err
	}
	r.Kind, r.Failures = AuthFailed, n+1
	return g.Record(ctx, r)
}

// Succeeded resets the count of a subject that had failures.
func (g Gate) Succeeded(ctx context.Context, r AuthRecord) (int, error) {
	n, err := g.Failures(ctx, r.Subject)
	if err != nil || n == 0 {
		return n, err
	}
	r.Kind, r.Failures = AuthOK, n
	return n, g.Record(ctx, r)
}

// Unlock lifts a lock-out (the caller checks that the admin runs it).
func (g Gate) Unlock(ctx context.Context, r AuthRecord) error {
	r.Kind = AuthUnlock
	return g.Record(ctx, r)
}

// Record writes one authentication record, once.
func (g Gate) Record(ctx context.Context, r AuthRecord) error {
	g = g.withDefaults()
	if r.Time.IsZero() {
		r.Time = g.Now()
	}
	r.Time = r.Time.UTC()
	ev := Event{Profile: r.Profile, Operator: r.Operator, Command: r.Command, Reason: r.Reason, Source: r.Source, Action: r.Kind}
	if err := ev.Check(); err != nil {
		return err
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	rnd := make([]byte, 6)
	rand.Read(rnd)
	key := fmt.Sprintf("%s%020d-%s.json", subjectDir(r.Subject), r.Time.UnixNano(), hex.EncodeToString(rnd))
	return putOnce(ctx, g.St, key, append(b, '\n'), "", r.Time, false)
}
