package rights_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"hdw/keys"
	"hdw/rights"
	"hdw/warehouse"
	"hdw/warehouse/warehousetest"
)

// TestSEC_REI_3_Emergency returns the identity of a warehouse pseudonym and
// of a workspace pseudonym when the workspace is named.
func TestSEC_REI_3_Emergency(t *testing.T) {
	f := newFixture(t)
	s, ws := f.demoWithWorkspaces(t)
	loc, _ := s.Find(f.ctx, req("REQ-12"), subjName(f.B))
	pB := loc.Pseudonyms[0]
	em := rights.Request{Ref: "EMERG-1", Reason: rights.ReasonEmergency}
	id, err := s.Emergency(f.ctx, em, pB, "")
	if err != nil || id.Fields["last_name"] != f.B.last || id.Fields["phone"] != f.B.phone || id.Rows != 1 {
		t.Fatal(err, id)
	}
	ws.add("cardio", pB, 1)
	id, err = s.Emergency(f.ctx, em, ws.rows["cardio"][0], "cardio")
	if err != nil || id.Pseudonym != pB || id.Fields["first_name"] != f.B.first {
		t.Fatal(err, id)
	}
	if _, err := s.Emergency(f.ctx, em, ws.rows["cardio"][0], ""); !errors.Is(err, rights.ErrNotFound) {
		t.Fatalf("a workspace pseudonym without its workspace: %v", err)
	}
	if _, err := s.Emergency(f.ctx, em, "../../etc", ""); !errors.Is(err, rights.ErrNotFound) {
		t.Fatalf("malformed: %v", err)
	}
}

// TestSEC_REI_2_Recontact selects persons by medical criteria and returns
// contact details only.
func TestSEC_REI_2_Recontact(t *testing.T) {
	f := newFixture(t)
	f.demo(t)
	s := f.service(t, nil)
	rc := rights.Request{Ref: "RECONTACT-1", Reason: rights.ReasonRecontact}
	cs, err := s.Recontact(f.ctx, rc, "diagnosis like 'C50%' or (diagnosis = 'J45' and birth_year >= 1970)")
	if err != nil || len(cs) != 2 {
		t.Fatal(err, cs)
	}
	var names []string
	for _, c := range cs {
		names = append(names, c["last_name"])
		for k := range c {
			if !slices.Contains(rights.ContactColumns(), k) {
				t.Errorf("recontact returns %s", k)
			}
		}
		if c["phone"] == "" || c["address"] == "" {
			t.Error("contact details missing")
		}
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{f.B.last, f.A.last}) && !slices.Equal(names, []string{f.A.last, f.B.last}) {
		t.Fatalf("selected %d persons, not A and B", len(names))
	}
	if _, err := s.Recontact(f.ctx, rc, "last_name = 'Moreau'"); err == nil {
		t.Fatal("criteria on an identifying column must be refused")
	}
	if _, err := s.Recontact(f.ctx, rc, "diagnosis = "); err == nil {
		t.Fatal("syntax error expected")
	}
}

// TestSEC_REI_4_SEC_REI_5_Guards: non-dpo profiles, a missing request reference or
// reason, and a rate-limit breach are refused; the breach raises an alert.
func TestSEC_REI_4_SEC_REI_5_Guards(t *testing.T) {
	f := newFixture(t)
	f.demo(t)
	t.Run("non-dpo profiles", func(t *testing.T) {
		for _, prof := range []string{keys.ProfileCurator, keys.ProfileIngest, keys.ProfileAdmin, keys.Researcher("cardio"), keys.ProfileApprover} {
			p := f.as(prof)
			wh, _ := warehouse.Open(f.ctx, f.st, p)
			if _, err := rights.New(wh, p, rights.Options{}); !errors.Is(err, rights.ErrNotDPO) || !errors.Is(err, keys.ErrForbidden) {
				t.Errorf("%s: got %v", prof, err)
			}
		}
		// A provider that obeys keys.Allowed refuses a curator the
		// warehouse key and the identity store, whatever it claims.
		liar := struct{ provider }{f.as(keys.ProfileCurator)}
		if _, err := liar.PseudonymKey(f.ctx, keys.PseudoWarehouse); !errors.Is(err, keys.ErrForbidden) {
			t.Fatal(err)
		}
	})
	s := f.service(t, nil)
	t.Run("request reference", func(t *testing.T) {
		for _, ref := range []string{"", "Jean Dupont", strings.Repeat("x", 65), "a\nb"} {
			if _, err := s.Find(f.ctx, req(ref), subjNIR(f.A)); !errors.Is(err, rights.ErrNoRequest) {
				t.Errorf("ref of %d chars: got %v", len(ref), err)
			}
		}
	})
	t.Run("reason", func(t *testing.T) {
		loc, _ := s.Find(f.ctx, req("REQ-13"), subjNIR(f.A))
		for _, reason := range []string{"", "curiosity", rights.ReasonRecontact} {
			if _, err := s.Emergency(f.ctx, rights.Request{Ref: "R-1", Reason: reason}, loc.Pseudonyms[0], ""); !errors.Is(err, rights.ErrNoReason) {
				t.Errorf("reason %q: got %v", reason, err)
			}
		}
		if _, err := s.Recontact(f.ctx, rights.Request{Ref: "R-1", Reason: rights.ReasonEmergency}, "diagnosis = 'C50'"); !errors.Is(err, rights.ErrNoReason) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("rate limit", func(t *testing.T) {
		var alerts []rights.Alert
		now := f.now.Add(48 * time.Hour)
		s := f.service(t, func(o *rights.Options) {
			o.MaxPerDay = 2
			o.Now = func() time.Time { return now }
			o.Alert = func(ctx context.Context, a rights.Alert) { alerts = append(alerts, a) }
		})
		// One request's find, access-like repeats on one person count once.
		for i := 0; i < 3; i++ {
			if _, err := s.Find(f.ctx, req("RL-1"), subjNIR(f.A)); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Find(f.ctx, req("RL-2"), subjName(f.B)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Find(f.ctx, req("RL-3"), subjNIR(f.C)); !errors.Is(err, rights.ErrRateLimit) {
			t.Fatalf("third person of the day: got %v", err)
		}
		if len(alerts) != 1 || alerts[0].Limit != 2 || alerts[0].Request != "RL-3" {
			t.Fatalf("alerts %+v", alerts)
		}
		rc := rights.Request{Ref: "RL-4", Reason: rights.ReasonRecontact}
		if _, err := s.Recontact(f.ctx, rc, "diagnosis != ''"); !errors.Is(err, rights.ErrRateLimit) {
			t.Fatalf("bulk recontact: got %v", err)
		}
		entries, _ := rights.Ledger(f.ctx, f.st, now)
		if rights.Used(entries) != 2 || len(entries) != 6 {
			t.Fatalf("ledger: used %d, %d entries", rights.Used(entries), len(entries))
		}
		raw := f.readPrefix(t, rights.LedgerPrefix)
		if s := warehousetest.ContainsAny(raw, append(append(f.A.identifiers(), f.B.identifiers()...), f.C.identifiers()...)); s != "" {
			t.Fatal("the ledger holds an identifying value")
		}
		// The next day the limit is fresh.
		now = now.Add(24 * time.Hour)
		if _, err := s.Find(f.ctx, req("RL-3"), subjNIR(f.C)); err != nil {
			t.Fatal(err)
		}
	})
}

// TestErrorsHoldNoPHI: errors about the subject never echo the values.
func TestErrorsHoldNoPHI(t *testing.T) {
	f := newFixture(t)
	f.demo(t)
	s := f.service(t, nil)
	bad := []rights.Subject{
		{NIR: "2620475011199"},
		{NIR: "2620475011123XX"},
		{LastName: "Lefèvre", FirstName: "Amélie", BirthDate: "15/04/1962", Sex: "F"},
		{LastName: "Lefèvre", FirstName: "Amélie", BirthDate: "1962-04-15", Sex: "Femelle"},
		{LastName: "Lefèvre"},
	}
	for i, subj := range bad {
		_, err := s.Find(f.ctx, req("REQ-14"), subj)
		if err == nil {
			t.Fatalf("case %d: error expected", i)
		}
		for _, v := range []string{subj.NIR, subj.LastName, subj.BirthDate, subj.Sex} {
			if v != "" && strings.Contains(err.Error(), v) {
				t.Errorf("case %d: error echoes a value", i)
			}
		}
	}
	if got := (rights.Subject{NIR: f.A.nir}).String(); strings.Contains(got, f.A.nir) {
		t.Fatal("Subject must redact")
	}
}
