package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"hdw/audit"
	"hdw/keys"
)

func newAuditCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "audit", Short: "verify and review the audit trail (SEC-DAY-1..4)"}
	c.AddCommand(&cobra.Command{
		Use:   "verify",
		Short: "recompute every hash chain and seal; report the first broken, missing, reordered or edited event",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAuditVerify(cmd.Context(), g)
		},
	})
	var since string
	rev := &cobra.Command{
		Use:   "review",
		Short: "list the anomalies worth a human look since a date, and record that the review was run",
		Long: `Review verifies the trail, then lists re-identifications, refused accesses,
alerts and quarantined exports, key operations, activity outside working
hours (audit.work_hours) and bursts of workspace pulls since --since
(default: 61 days ago, SEC-DAY-3 asks for a review at least every two
months). The review itself is recorded in the trail with its reviewer.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAuditReview(cmd.Context(), g, since)
		},
	}
	rev.Flags().StringVar(&since, "since", "", "start date YYYY-MM-DD (default: 61 days ago)")
	c.AddCommand(rev)
	return c
}

func runAuditVerify(ctx context.Context, g *globals) error {
	if err := g.requireProfile(keys.ProfileAdmin, keys.ProfileDPO, keys.ProfileApprover, keys.ProfileCurator, keys.ProfileIngest); err != nil {
		return err
	}
	sess, err := g.open(ctx, "audit verify")
	if err != nil {
		return err
	}
	defer sess.close(ctx)
	mac, err := g.auditMAC(ctx, sess.prov)
	if err != nil {
		return err
	}
	rep, _, err := audit.Verify(ctx, sess.st, mac)
	if err != nil {
		return err
	}
	outcome := "ok"
	if !rep.OK {
		outcome = "alert"
	}
	sess.event(ctx, "", "audit.verify", outcome, nil, map[string]int64{"segments": int64(rep.Segments), "events": int64(rep.Events), "problems": int64(len(rep.Problems))}, "")
	if g.json {
		json.NewEncoder(g.stdout).Encode(rep)
	} else {
		fmt.Fprintf(g.stdout, "audit trail: %d sessions, %d segment parts, %d events, %d sessions still open\n", rep.Sessions, rep.Segments, rep.Events, len(rep.Open))
		for _, p := range rep.Problems {
			fmt.Fprintf(g.stdout, "  %-15s %s line %d: %s\n", p.Kind, p.File, p.Line, p.Detail)
		}
		if rep.Omitted > 0 {
			fmt.Fprintf(g.stdout, "  (%d more problems not listed)\n", rep.Omitted)
		}
		if rep.OK {
			fmt.Fprintln(g.stdout, "  ok: every chain and seal verifies")
		}
	}
	if !rep.OK {
		return &exitError{code: exitFailure, err: fmt.Errorf("audit trail: %s in %s line %d", rep.First.Kind, rep.First.File, rep.First.Line)}
	}
	return nil
}

func runAuditReview(ctx context.Context, g *globals, since string) error {
	if err := g.requireProfile(keys.ProfileAdmin, keys.ProfileDPO); err != nil {
		return err
	}
	from := time.Now().UTC().AddDate(0, 0, -61)
	if since != "" {
		t, err := time.Parse("2006-01-02", since)
		if err != nil {
			return usageErr("--since must be YYYY-MM-DD")
		}
		from = t
	}
	sess, err := g.open(ctx, "audit review")
	if err != nil {
		return err
	}
	defer sess.close(ctx)
	mac, err := g.auditMAC(ctx, sess.prov)
	if err != nil {
		return err
	}
	rules := audit.ReviewRules{Location: time.Local}
	if a, b, ok := strings.Cut(st.cfg.Audit.WorkHours, "-"); ok {
		rules.WorkStart, _ = strconv.Atoi(a)
		rules.WorkEnd, _ = strconv.Atoi(b)
	}
	an, rep, err := audit.Review(ctx, sess.st, mac, sess.prov, from, rules)
	if err != nil {
		return err
	}
	if err := sess.event(ctx, "", "audit.review", "ok", map[string]string{"since": from.Format("2006-01-02")}, map[string]int64{"anomalies": int64(len(an))}, ""); err != nil {
		return err
	}
	if g.json {
		return json.NewEncoder(g.stdout).Encode(map[string]any{"since": from.Format("2006-01-02"), "reviewer": sess.operator, "trail_ok": rep.OK, "anomalies": an})
	}
	fmt.Fprintf(g.stdout, "audit review since %s by %s: %d anomalies (trail ok: %v)\n", from.Format("2006-01-02"), sess.operator, len(an), rep.OK)
	for _, a := range an {
		fmt.Fprintf(g.stdout, "  %s  %-17s %-10s %-22s %s\n", a.Time.Format("2006-01-02 15:04"), a.Kind, a.Profile, a.Action, a.Detail)
	}
	return nil
}
