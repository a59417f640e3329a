package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"hdw/audit"
	"hdw/keys"
	"hdw/objstore"
	"hdw/policy"
	"hdw/workspaces"
)

// People's access, governed (issue 25 item 4; SEC-HAB-3, SEC-HAB-5,
// SEC-HAB-6): each operator's access is reviewed every review.months of the
// sealed policy (counted from the last review, else the enrolment; at the
// project's end for a researcher whose workspace expires first); a person
// overdue by review.grace_days is suspended (their login refused and
// audited) until the admin records a review.

// operatorNow is the clock of enrolments, reviews and suspensions
// (replaced in tests to write dates in the past).
var operatorNow = time.Now

// activityPrefix holds one object per operator, operators/activity/<id>.json,
// rewritten at each of their logins: their last activity for the review
// (not an authentication record, so that hdw audit review does not list
// every login as an anomaly). Informational only: the review's due dates
// come from the keyring.
const activityPrefix = "operators/activity/"

type activity struct {
	Time    time.Time `json:"time"`
	Profile string    `json:"profile"`
	Command string    `json:"command"`
}

// reviewPolicy is the sealed policy's review period, read with its public
// seal (no key needed); a policy that does not verify counts as the
// built-in default here.
func reviewPolicy(ctx context.Context, s objstore.Store, prov keys.Provider) policy.AccessReview {
	if latest, err := heldPolicy(ctx, s, prov); err == nil && latest != nil {
		return latest.Policy.EffectiveReview()
	}
	return policy.Default().EffectiveReview()
}

// reviewRow is one line of hdw operator review.
type reviewRow struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Role         string    `json:"role"`
	Workspaces   []string  `json:"workspaces"`
	Decision     string    `json:"decision"`
	Manager      string    `json:"manager,omitempty"`
	Enrolled     time.Time `json:"enrolled"`
	LastActivity time.Time `json:"last_activity,omitzero"`
	LastReview   time.Time `json:"last_review,omitzero"`
	ReviewedBy   string    `json:"reviewed_by,omitempty"`
	Outcome      string    `json:"outcome,omitempty"`
	Due          time.Time `json:"due,omitzero"`
	DueFor       string    `json:"due_for,omitempty"` // yearly review, project end
	// State: active, due (the due date has passed), suspended (overdue by
	// the grace period: login refused), removed.
	State string `json:"state"`
}

// reviewDue returns when op's access is next due for review and why, and
// whether it is suspended at now (overdue by the grace). projectEnd is the
// expiry of a researcher's workspace (zero: none).
func reviewDue(op keys.Operator, rp policy.AccessReview, projectEnd, now time.Time) (due time.Time, why string, suspended bool) {
	due, why = op.LastReviewed().AddDate(0, rp.Months, 0), "periodic review"
	if !projectEnd.IsZero() && projectEnd.Before(due) {
		due, why = projectEnd, "project end"
	}
	return due, why, now.After(due.AddDate(0, 0, rp.GraceDays))
}

// checkReviewed refuses the login of an operator overdue for review by the
// policy's grace period (SEC-HAB-5), with an authentication record
// (SEC-DAY-1); the admin lifts it by recording a review.
func (g *globals) checkReviewed(ctx context.Context, s objstore.Store, prov keys.Provider, op keys.Operator, ref, command string) error {
	now := operatorNow()
	var end time.Time
	if p, ok := strings.CutPrefix(string(op.Role), "researcher:"); ok {
		end = projectEnd(ctx, s, p)
	}
	due, why, suspended := reviewDue(op, reviewPolicy(ctx, s, prov), end, now)
	if !suspended {
		return nil
	}
	g.gate(ctx, s).Record(ctx, audit.AuthRecord{Kind: audit.AuthRefused, Subject: "operator:" + ref, Profile: g.profile,
		Operator: op.ID, Command: command, Reason: "access review overdue: suspended (SEC-HAB-5)", Source: hostname(), Time: now})
	return fmt.Errorf("operator %s: access suspended, the %s due %s is overdue beyond the policy's grace (SEC-HAB-5): the admin must record a review (hdw operator review %s --outcome keep|withdraw --note TEXT)",
		ref, why, due.UTC().Format(time.DateOnly), ref)
}

// projectEnd is the expiry of project's active workspace (zero: none).
func projectEnd(ctx context.Context, s objstore.Store, project string) time.Time {
	d, err := workspaces.Load(ctx, s, project)
	if err != nil || d.Status != "active" {
		return time.Time{}
	}
	return d.Expires
}

// recordLogin writes the operator's last activity (best effort).
func (g *globals) recordLogin(ctx context.Context, s objstore.Store, id, command string) {
	objstore.WriteJSON(ctx, s, activityPrefix+id+".json", activity{Time: operatorNow().UTC(), Profile: g.profile, Command: command})
}

// lastActivity is the time of the operator's last login, else of their
// last authentication record (zero: none).
func lastActivity(ctx context.Context, s objstore.Store, op keys.Operator) time.Time {
	var a activity
	if objstore.ReadJSON(ctx, s, activityPrefix+op.ID+".json", 1<<12, &a) == nil {
		return a.Time
	}
	if rs, _ := audit.Records(ctx, s, "operator:"+op.Name); len(rs) > 0 {
		return rs[len(rs)-1].Time
	}
	return time.Time{}
}

func newOperatorReviewCmd(g *globals) *cobra.Command {
	var outcome, note string
	c := &cobra.Command{
		Use:   "review [NAME --outcome keep|withdraw --note TEXT]",
		Short: "list each person's access and what is due, or record a review (admin; the DPO may list; SEC-HAB-5, SEC-HAB-6)",
		Long: `Without NAME, review lists every operator: role, the workspaces the role
reaches (researcher:<project>), the authorizing decision, enrolment, last
activity (last login), last review (who, outcome), the date the next review
is due and why (periodic: review.months of the sealed policy after the last
review or the enrolment; project end: a researcher's workspace expiry), and
the state: active, due, suspended (overdue beyond review.grace_days: their
login is refused until a review is recorded) or removed.

With NAME, --outcome and --note, the admin records a review of that person
(who, when, outcome, note), audited. keep starts a new period and lifts a
suspension; withdraw removes the person's access at once, as operator
remove (SEC-HAB-6). Local keyring only; Vault: see docs/keys.md.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				if outcome != "" || note != "" {
					return usageErr("--outcome and --note record the review of one operator: hdw operator review NAME --outcome keep|withdraw --note TEXT")
				}
				return runOperatorReviewList(cmd.Context(), g)
			}
			return runOperatorReview(cmd.Context(), g, args[0], outcome, note)
		},
	}
	c.Flags().StringVar(&outcome, "outcome", "", "keep or withdraw")
	c.Flags().StringVar(&note, "note", "", "what the review found (no patient data)")
	return c
}

func runOperatorReviewList(ctx context.Context, g *globals) error {
	return g.withOperators(ctx, "operator review", []string{keys.ProfileAdmin, keys.ProfileDPO}, func(sess *session, k operatorStore) error {
		ops, err := k.Directory().Operators(ctx)
		if err != nil {
			return err
		}
		rp, now := reviewPolicy(ctx, sess.st, sess.prov), operatorNow()
		rows := []reviewRow{}
		for _, o := range ops {
			r := reviewRow{ID: o.ID, Name: o.Name, Role: string(o.Role), Workspaces: []string{}, Decision: o.Authorization.Decision,
				Manager: o.Authorization.Manager, Enrolled: o.Enrolled.UTC(), LastActivity: lastActivity(ctx, sess.st, o).UTC()}
			if n := len(o.Reviews); n > 0 {
				r.LastReview, r.ReviewedBy, r.Outcome = o.Reviews[n-1].Time.UTC(), o.Reviews[n-1].Reviewer, o.Reviews[n-1].Outcome
			}
			var end time.Time
			if p, ok := strings.CutPrefix(string(o.Role), "researcher:"); ok {
				r.Workspaces = append(r.Workspaces, p)
				end = projectEnd(ctx, sess.st, p)
			}
			switch {
			case !o.Removed.IsZero():
				r.State = "removed"
			default:
				due, why, suspended := reviewDue(o, rp, end, now)
				r.Due, r.DueFor, r.State = due.UTC(), why, "active"
				if suspended {
					r.State = "suspended"
				} else if !now.Before(due) {
					r.State = "due"
				}
			}
			rows = append(rows, r)
		}
		if err := sess.event(ctx, "", "operator.review.list", "ok", nil, map[string]int64{"operators": int64(len(rows))}, ""); err != nil {
			return err
		}
		if g.json {
			return json.NewEncoder(g.stdout).Encode(rows)
		}
		day := func(t time.Time) string {
			if t.IsZero() {
				return "-"
			}
			return t.Format(time.DateOnly)
		}
		for _, r := range rows {
			ws := strings.Join(r.Workspaces, ",")
			if ws == "" {
				ws = "-"
			}
			fmt.Fprintf(g.stdout, "%s  %-16s %-20s ws %-12s decision %s  enrolled %s  active %s  reviewed %s  due %s (%s)  %s\n",
				r.ID, r.Name, r.Role, ws, r.Decision, day(r.Enrolled), day(r.LastActivity), day(r.LastReview), day(r.Due), r.DueFor, r.State)
		}
		return nil
	})
}

func runOperatorReview(ctx context.Context, g *globals, name, outcome, note string) error {
	if outcome != keys.ReviewKeep && outcome != keys.ReviewWithdraw {
		return usageErr("--outcome must be keep or withdraw")
	}
	if !keys.ValidReference(note, 1000) {
		return usageErr("--note: what the review found, 1 to 1000 printable characters")
	}
	return g.withOperators(ctx, "operator review", []string{keys.ProfileAdmin}, func(sess *session, k operatorStore) error {
		op, err := k.ReviewOperator(ctx, name, keys.OperatorReview{Time: operatorNow(), Reviewer: sess.operator, Outcome: outcome, Note: note})
		if err != nil {
			sess.event(ctx, "", "operator.review", "failed", map[string]string{"outcome": outcome}, nil, "")
			return err
		}
		if err := sess.event(ctx, "", "operator.review", "ok", map[string]string{"operator": op.ID, "role": string(op.Role), "outcome": outcome}, nil, ""); err != nil {
			return err
		}
		if outcome == keys.ReviewWithdraw {
			fmt.Fprintf(g.stdout, "operator %s (%s) reviewed: access withdrawn\n", name, op.ID)
			return nil
		}
		fmt.Fprintf(g.stdout, "operator %s (%s) reviewed: access kept until the next review\n", name, op.ID)
		return nil
	})
}
