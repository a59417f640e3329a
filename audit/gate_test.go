package audit_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"hdw/audit"
)

// TestSRS_089_FiveWrongPassphrases: five failed unlocks are five records,
// the wait before each new attempt grows (1 s, 2 s, 4 s, 8 s, measured on
// an injected sleep, not wall time), the sixth attempt is refused at the
// threshold (and recorded) until the admin unlocks; a success resets.
func TestSRS_089_FiveWrongPassphrases(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	var waits []time.Duration
	g := audit.Gate{St: st, Now: func() time.Time { now = now.Add(time.Second); return now },
		Sleep: func(_ context.Context, d time.Duration) { waits = append(waits, d) }}
	r := audit.AuthRecord{Subject: "curator", Profile: "curator", Command: "workspace create", Source: "runner-1"}
	for i := range 5 {
		if _, err := g.Before(ctx, r); err != nil {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
		if err := g.Failed(ctx, audit.AuthRecord{Subject: r.Subject, Profile: r.Profile, Command: r.Command, Reason: "credentials refused"}); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := audit.Records(ctx, st, "curator")
	if err != nil || len(recs) != 5 {
		t.Fatalf("records: %d %v", len(recs), err)
	}
	for i, rec := range recs {
		if rec.Kind != audit.AuthFailed || rec.Failures != i+1 || rec.Command != "workspace create" {
			t.Fatalf("record %d: %+v", i, rec)
		}
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}
	if len(waits) != len(want) {
		t.Fatalf("waits %v, want %v", waits, want)
	}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits %v, want %v", waits, want)
		}
	}
	if _, err := g.Before(ctx, r); !errors.Is(err, audit.ErrLockedOut) {
		t.Fatalf("sixth attempt: %v, want ErrLockedOut", err)
	}
	if recs, _ = audit.Records(ctx, st, "curator"); recs[len(recs)-1].Kind != audit.AuthLocked {
		t.Fatal("the refused attempt is not recorded")
	}
	if err := g.Unlock(ctx, audit.AuthRecord{Subject: "curator", Profile: "admin"}); err != nil {
		t.Fatal(err)
	}
	if n, err := g.Before(ctx, r); err != nil || n != 0 {
		t.Fatalf("after unlock: %d %v", n, err)
	}
	if g.Delay(20) != 30*time.Second {
		t.Fatalf("delay cap: %v", g.Delay(20))
	}
}
