package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"hdw/audit"
	"hdw/keys"
	"hdw/policy"
	"hdw/rights"
)

type retentionOpts struct {
	dryRun bool
}

func newRetentionCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "retention",
		Short: "apply the retention period (CNIL 7.2, 7.3)",
	}
	var o retentionOpts
	apply := &cobra.Command{
		Use:   "apply [--dry-run]",
		Short: "delete batches collected more than retention.health_years ago (dpo or admin)",
		Long: `Apply deletes the batches collected more than retention.health_years (at
most 20, CNIL 7.2) ago: their health records and images, genetic rows, the
identity rows of those records, and the batch's wrapped data keys. Later
batches are untouched. --dry-run lists what would go. A deletion proof is
written under rights/proofs/ and sealed in the audit trail. Profile: dpo or admin.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRetention(cmd.Context(), g, o, time.Now)
		},
	}
	apply.Flags().BoolVar(&o.dryRun, "dry-run", false, "list what would be deleted, delete nothing")
	c.AddCommand(apply)
	return c
}

func runRetention(ctx context.Context, g *globals, o retentionOpts, now func() time.Time) error {
	return g.within(ctx, "retention", []string{keys.ProfileDPO, keys.ProfileAdmin}, func(sess *session) error {
		pol, _, err := sess.effectivePolicy(ctx)
		if err != nil {
			return err
		}
		years := pol.Retention.HealthYears
		if pol.Retention.StartEvent == policy.StartEndOfCare && g.profile != keys.ProfileDPO {
			return sess.deny(ctx, "retention.apply", map[string]string{"start_event": pol.Retention.StartEvent}, &exitError{code: exitFailure,
				err: errors.New("retention runs from the end of care (the sealed policy): it reads the last visit dates, run it as the dpo profile")})
		}
		rep, err := rights.ApplyRetention(ctx, sess.wh, rights.RetentionOptions{Years: years, Now: now, DryRun: o.dryRun, Operator: sess.operator, StartEvent: pol.Retention.StartEvent})
		target := map[string]string{"years": fmt.Sprint(years), "start_event": pol.Retention.StartEvent}
		outcome := "ok"
		if o.dryRun {
			outcome = "dry-run"
		}
		if err != nil {
			sess.event(ctx, "", "retention.apply", "failed", target, nil, "")
			return err
		}
		counts := map[string]int64{"batches": int64(len(rep.Batches)), "kept": int64(rep.Kept)}
		if len(rep.Workspaces) > 0 {
			target["workspaces_to_rebuild"] = strings.Join(rep.Workspaces, ",")
		}
		// SEC-DAY-4: audit segments older than retention.audit_months go too.
		mac, err := g.auditMAC(ctx, sess.prov)
		if err != nil {
			return err
		}
		segs, err := audit.Retention(ctx, sess.st, mac, now(), time.Duration(pol.Retention.AuditMonths)*30*24*time.Hour, o.dryRun)
		if err != nil {
			sess.event(ctx, "", "retention.audit", "failed", target, nil, "")
			return err
		}
		counts["audit_segments"] = int64(len(segs))
		if rep.Proof != nil {
			doc, _ := json.Marshal(rep.Proof)
			h := sha256.Sum256(doc)
			target["proof"] = rep.Proof.ID
			target["proof_sha256"] = hex.EncodeToString(h[:])
			for k, v := range rep.Proof.Counts {
				counts[k] = int64(v)
			}
		}
		if err := sess.event(ctx, "", "retention.apply", outcome, target, counts, ""); err != nil {
			return err
		}
		if g.json {
			return writeJSON(g.stdout, rep)
		}
		w := g.stdout
		mode := ""
		if rep.DryRun {
			mode = " (dry run: nothing deleted)"
		}
		fmt.Fprintf(w, "retention %d years from the %s: batches whose period started before %s go%s\n", years, rep.StartEvent, rep.Cutoff.Format("2006-01-02"), mode)
		for _, b := range rep.Batches {
			fmt.Fprintf(w, "  batch %s collected %s: records %d, images %d, genetic %d (%d objects)\n",
				b.Batch, b.Collected.Format("2006-01-02"), b.Records, b.Images, b.Genetic, b.Objects)
		}
		fmt.Fprintf(w, "  expired %d batches, kept %d\n", len(rep.Batches), rep.Kept)
		for _, p := range rep.Workspaces {
			fmt.Fprintf(w, "  workspace %s holds copies of expired batches: rebuild or revoke it (curator)\n", p)
		}
		fmt.Fprintf(w, "  audit segments older than %d months: %d\n", pol.Retention.AuditMonths, len(segs))
		if rep.Proof != nil {
			fmt.Fprintf(w, "  proof %s (rights/proofs/%s.json)\n", rep.Proof.ID, rep.Proof.ID)
		}
		return nil
	})
}
