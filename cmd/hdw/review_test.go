package main

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"hdw/audit"
	"hdw/keys"
	"hdw/objstore"
	"hdw/policy"
)

// TestSEC_HAB_3_SEC_HAB_5_SEC_HAB_6_OperatorReview: an enrolment without
// the authorizing decision is refused (an admin's without the line
// manager too); hdw operator review lists each person's decision and what
// is due; a person due is listed as due and still logs in; one overdue by
// the policy's grace is suspended: their login is refused with an
// authentication record, until the admin records a review; a withdraw
// review refuses the person's login at once on the local keyring; the
// reviews are audited.
func TestSEC_HAB_3_SEC_HAB_5_SEC_HAB_6_OperatorReview(t *testing.T) {
	real := time.Now()
	defer func() { operatorNow = time.Now }()
	c := newCLI(t)
	c.must(0, "init")
	if _, _, errOut := c.run("--profile", "admin", "operator", "add", "alice", "--role", "curator"); !strings.Contains(errOut, "SEC-HAB-3") {
		t.Fatalf("SEC-HAB-3: enrolled without a decision: %s", errOut)
	}
	if _, _, errOut := c.run("--profile", "admin", "operator", "add", "root2", "--role", "admin", "--decision", "CSE-T-9"); !strings.Contains(errOut, "--manager") {
		t.Fatalf("SEC-HAB-3: an admin enrolled without the line manager: %s", errOut)
	}
	c.must(0, "--profile", "admin", "operator", "add", "root2", "--role", "admin", "--decision", "CSE-T-9", "--manager", "head of IT")
	// Enrolments in the past: "due" 12 months + 5 days ago (due, within the
	// 30 days' grace), "late" 12 months + 40 days ago (suspended).
	operatorNow = func() time.Time { return real.AddDate(-1, 0, -5) }
	c.must(0, "--profile", "admin", "operator", "add", "due", "--role", "curator", "--decision", "CSE-T-1")
	operatorNow = func() time.Time { return real.AddDate(-1, 0, -40) }
	c.must(0, "--profile", "admin", "operator", "add", "late", "--role", "curator", "--decision", "CSE-T-2")
	operatorNow = time.Now
	c.must(0, "--profile", "admin", "operator", "add", "fresh", "--role", "researcher:cardio", "--decision", "CSE-T-3")

	rows := func() map[string]reviewRow {
		var rs []reviewRow
		if err := json.Unmarshal([]byte(c.must(0, "--profile", "dpo", "--json", "operator", "review")), &rs); err != nil {
			t.Fatal(err)
		}
		m := map[string]reviewRow{}
		for _, r := range rs {
			m[r.Name] = r
		}
		return m
	}
	rs := rows()
	if r := rs["due"]; r.State != "due" || r.Decision != "CSE-T-1" || r.DueFor != "periodic review" {
		t.Fatalf("SEC-HAB-5: the operator due is not listed as due: %+v", r)
	}
	if r := rs["late"]; r.State != "suspended" {
		t.Fatalf("the overdue operator: %+v", r)
	}
	if r := rs["fresh"]; r.State != "active" || r.Due.Before(real.AddDate(0, 11, 0)) || len(r.Workspaces) != 1 || r.Workspaces[0] != "cardio" {
		t.Fatalf("a fresh enrolment: %+v", r)
	}
	if r := rs["root2"]; r.Manager != "head of IT" {
		t.Fatalf("the admin's line manager: %+v", r)
	}
	if code, _, _ := c.run("--profile", "curator", "operator", "review"); code == 0 {
		t.Fatal("a curator lists the review")
	}
	if code, _, _ := c.run("--profile", "dpo", "operator", "review", "due", "--outcome", "keep", "--note", "still needed"); code == 0 {
		t.Fatal("the DPO records a review")
	}

	// The person due still logs in; their login is their last activity.
	c.env["HDW_OPERATOR"] = "due"
	c.must(0, "--profile", "curator", "audit", "verify")
	// The overdue one is suspended, with an authentication record.
	c.env["HDW_OPERATOR"] = "late"
	if code, _, errOut := c.run("--profile", "curator", "audit", "verify"); code != 1 || !strings.Contains(errOut, "suspended") {
		t.Fatalf("SEC-HAB-5: an overdue operator logs in: exit %d %s", code, errOut)
	}
	delete(c.env, "HDW_OPERATOR")
	st, _ := objstore.NewLocal(c.env["HDW_WAREHOUSE"])
	recs, _ := audit.Records(context.Background(), st, "operator:late")
	if len(recs) == 0 || recs[len(recs)-1].Kind != audit.AuthRefused || !strings.Contains(recs[len(recs)-1].Reason, "overdue") {
		t.Fatalf("SEC-HAB-5: no record of the suspended login: %+v", recs)
	}
	if r := rows()["due"]; r.LastActivity.IsZero() {
		t.Fatalf("the last activity of a person who logged in: %+v", r)
	}

	// A review lifts the suspension.
	c.must(0, "--profile", "admin", "operator", "review", "late", "--outcome", "keep", "--note", "project extended by the committee")
	c.env["HDW_OPERATOR"] = "late"
	c.must(0, "--profile", "curator", "audit", "verify")
	delete(c.env, "HDW_OPERATOR")
	if r := rows()["late"]; r.State != "active" || r.Outcome != "keep" || r.ReviewedBy == "" || r.LastReview.IsZero() {
		t.Fatalf("the review is not recorded: %+v", r)
	}

	// A withdraw review refuses the person at once (SEC-HAB-6).
	c.must(0, "--profile", "admin", "operator", "review", "due", "--outcome", "withdraw", "--note", "left the unit")
	c.env["HDW_OPERATOR"] = "due"
	if code, _, _ := c.run("--profile", "curator", "audit", "verify"); code != 1 {
		t.Fatal("SEC-HAB-6: a withdrawn operator logs in")
	}
	delete(c.env, "HDW_OPERATOR")
	if r := rows()["due"]; r.State != "removed" {
		t.Fatalf("withdrawn: %+v", r)
	}
	trail := string(auditPlain(t, c))
	if strings.Count(trail, `"operator.review"`) < 2 || !strings.Contains(trail, `"outcome":"withdraw"`) || !strings.Contains(trail, `"decision":"CSE-T-2"`) {
		t.Fatalf("reviews and enrolment decisions not audited:\n%s", trail)
	}
}

// TestSEC_HAB_5_ReviewDueProjectEnd: a review is due a period after the
// last review (else the enrolment), or at the project's end when a
// researcher's workspace expires first; suspended past the grace.
func TestSEC_HAB_5_ReviewDueProjectEnd(t *testing.T) {
	enrolled := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	op := keys.Operator{ID: "LH-USR-t", Name: "t", Role: keys.ProfileCurator, Enrolled: enrolled}
	rp := policy.AccessReview{Months: 12, GraceDays: 30}
	due, why, susp := reviewDue(op, rp, time.Time{}, enrolled.AddDate(1, 0, 29))
	if !due.Equal(enrolled.AddDate(1, 0, 0)) || why != "periodic review" || susp {
		t.Fatalf("periodic: %v %s %v", due, why, susp)
	}
	if _, _, susp := reviewDue(op, rp, time.Time{}, enrolled.AddDate(1, 0, 31)); !susp {
		t.Fatal("not suspended past the grace")
	}
	end := enrolled.AddDate(0, 6, 0)
	if due, why, _ := reviewDue(op, rp, end, enrolled); !due.Equal(end) || why != "project end" {
		t.Fatalf("project end: %v %s", due, why)
	}
	op.Reviews = append(op.Reviews, keys.OperatorReview{Time: enrolled.AddDate(1, 0, 20), Reviewer: "LH-USR-admin", Outcome: keys.ReviewKeep})
	if due, _, susp := reviewDue(op, rp, time.Time{}, enrolled.AddDate(1, 1, 0)); susp || !due.Equal(enrolled.AddDate(2, 0, 20)) {
		t.Fatalf("a review starts a new period: %v %v", due, susp)
	}
}

// TestSEC_HAB_5_ReadmeGovernanceCoversReviews: the README's governance
// procedure covers the enrolment decision, the periodic review, the
// suspension and the withdrawal.
func TestSEC_HAB_5_ReadmeGovernanceCoversReviews(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "### People's access, governed")
	if i < 0 {
		t.Fatal("no governance section for people's access")
	}
	sec := s[i:]
	if j := strings.Index(sec[4:], "\n## "); j > 0 {
		sec = sec[:j+4]
	}
	for _, want := range []string{"--decision", "--manager", "operator review", "--outcome keep", "withdraw", "review.grace_days", "review.months", "suspended", "SEC-HAB-3", "SEC-HAB-5", "SEC-HAB-6", "Vault"} {
		if !strings.Contains(sec, want) {
			t.Errorf("the governance procedure does not cover %q", want)
		}
	}
}
