package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"hdw/audit"
	"hdw/criteria"
	"hdw/export"
	"hdw/indicators"
	"hdw/keys"
	"hdw/policy"
	"hdw/warehouse"
)

func newIndicatorsCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "indicators", Short: "anonymous indicators with differential privacy, approved once, run within a privacy budget (SEC-EXP-4, SEC-EXP-5)",
		Long: `Indicators are counts, sums, means, quantiles and histograms over the health
records (or a workspace's), grouped by dictionary columns and filtered by a CEL
criterion, released with differential privacy: each person counts in a bounded
number of groups with a bounded number of rows, groups are selected privately
and held back below a small-cell threshold, every value is noised and comes
with a 95% confidence interval.

An indicator is defined once (curator: hdw indicators define FILE), approved
by an approver who is not its author (hdw indicators approve NAME), then run
on demand (hdw indicators run NAME --out DIR) while the running operator's
privacy budget of the period holds; a run over the budget is refused and
audited. The budget is the warehouse's, not a flag.`}
	def := &cobra.Command{Use: "define FILE", Short: "submit an indicator definition (JSON) for approval (curator)", Args: cobra.ExactArgs(1),
		Example: `  hdw --profile curator indicators define ct-by-department.json
  # {"name": "ct-by-department", "measure": "count", "group_by": ["department", "visit_date:month"],
  #  "filter": "modality == 'CT'", "epsilon": 0.5}`,
		RunE: func(cmd *cobra.Command, args []string) error { return runIndicatorsDefine(cmd.Context(), g, args[0]) }}
	c.AddCommand(def)
	var reject bool
	var reason string
	app := &cobra.Command{Use: "approve NAME", Short: "approve (or --reject) the pending definition of an indicator (approver, not its author; SEC-EXP-5)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runIndicatorsApprove(cmd.Context(), g, args[0], !reject, reason)
		}}
	app.Flags().BoolVar(&reject, "reject", false, "reject the definition instead")
	app.Flags().StringVar(&reason, "reason", "", "the decision's reason (no identifying data)")
	c.AddCommand(app)
	var o struct{ out, workspace, format string }
	run := &cobra.Command{Use: "run NAME [--out DIR]", Short: "run an approved indicator within the privacy budget (curator)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runIndicatorsRun(cmd.Context(), g, args[0], o.out, o.workspace, o.format)
		}}
	run.Flags().StringVar(&o.out, "out", "", "folder for the result table and its report (default: print only)")
	run.Flags().StringVar(&o.workspace, "workspace", "", "run over this workspace's records instead of the health store")
	run.Flags().StringVar(&o.format, "format", "parquet,csv", "table formats written to --out: parquet, csv (comma-separated)")
	c.AddCommand(run)
	c.AddCommand(&cobra.Command{Use: "verify", Short: "check every audited privacy-budget spend against the ledger (admin)", Args: cobra.NoArgs,
		Long: `Verify reads the audit trail (verified) and checks that every indicators.spend
event is still in the privacy budget ledger, at its sequence number, for the
same run: the newest ledger entries removed to spend a budget again, or a
ledger that no longer verifies, are findings (exit 1, an alert in the audit
trail).`,
		RunE: func(cmd *cobra.Command, args []string) error { return runIndicatorsVerify(cmd.Context(), g) }})
	c.AddCommand(&cobra.Command{Use: "list", Short: "definitions, their approval, and the caller's privacy budget", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runIndicatorsList(cmd.Context(), g) }})
	return c
}

// indicatorBudget is every consumer's privacy budget as the sealed
// warehouse policy sets it (policy.Policy.Indicators, written by the admin
// only; its built-in default until one is sealed). No flag, config key or
// environment variable reaches it (SEC-EXP-4).
// indicatorBudget returns the privacy budget of the session's operator
// from the held policy; a policy that does not verify raises the policy
// alert and nothing is computed (fail closed).
func (s *session) indicatorBudget(ctx context.Context) (indicators.Budget, error) {
	latest, err := heldPolicy(ctx, s.st, s.prov)
	if err != nil {
		return indicators.Budget{}, s.policyAlert(ctx, err)
	}
	b := policy.Default().Indicators
	if latest != nil {
		b = latest.Policy.Indicators
	}
	return indicators.FixedBudget(indicators.Budget{Epsilon: b.Epsilon, Delta: b.Delta, Period: b.Period}).IndicatorBudget(ctx, s.operator)
}

func (s *session) indicatorRecords(ctx context.Context) (*indicators.Registry, *indicators.Ledger, error) {
	mac, err := s.g.auditMAC(ctx, s.prov)
	if err != nil {
		return nil, nil, err
	}
	// An enrolled operator (HDW_OPERATOR) signs definitions and approvals
	// with their own key, checked against the operator directory.
	reg := &indicators.Registry{St: s.st, MAC: mac, Signer: s.Signer()}
	if d := directoryOf(s.prov); d != nil { // local keyring or Vault
		reg.Dir = d
	}
	return reg, &indicators.Ledger{St: s.st, MAC: mac}, nil
}

func runIndicatorsDefine(ctx context.Context, g *globals, file string) error {
	if err := g.requireProfile(keys.ProfileCurator); err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return usageErr("indicator definition: %v", err)
	}
	d, perr := indicators.ParseDefinition(f)
	f.Close()
	var plan *indicators.Plan
	if perr == nil {
		plan, perr = indicators.Compile(d, g.dict)
	}
	return g.within(ctx, "indicators define", nil, func(sess *session) error {
		if perr != nil {
			// SEC-EXP-5: the automatic check failed: nothing is recorded for
			// approval, the refusal is an alert in the audit trail.
			reason := "definition refused by the automatic check"
			sess.event(ctx, "", "indicators.define", "alert", nil, nil, reason)
			fmt.Fprintf(g.stderr, "hdw: ALERT: indicator definition %s refused by the automatic check\n", filepath.Base(file))
			if errors.Is(perr, indicators.ErrDefinition) || criteria.IsError(perr) {
				return usageErr("%v", perr)
			}
			return perr
		}
		reg, _, err := sess.indicatorRecords(ctx)
		if err != nil {
			return err
		}
		sub, err := reg.Submit(ctx, plan.Def, sess.operator, sess.prov.Profile())
		if errors.Is(err, indicators.ErrExist) {
			return usageErr("indicator %s: this exact definition was already submitted (hdw indicators list)", plan.Def.Name)
		}
		if err != nil {
			return err
		}
		target := map[string]string{"indicator": plan.Def.Name, "definition": sub.Hash[:16]}
		if err := sess.event(ctx, "", "indicators.define", "ok", target, nil, ""); err != nil {
			return err
		}
		return g.result(map[string]any{"indicator": plan.Def.Name, "status": indicators.Pending, "definition_sha256": sub.Hash, "definition": plan.Def},
			"indicator %s: pending approval (definition %s)\n", plan.Def.Name, sub.Hash[:16])
	})
}

func runIndicatorsApprove(ctx context.Context, g *globals, name string, approve bool, reason string) error {
	if err := g.requireProfile(keys.ProfileApprover); err != nil {
		return err
	}
	if !indicators.ValidName(name) {
		return usageErr("indicator name must be 1-64 of a-z, 0-9, '-', '_'")
	}
	return g.within(ctx, "indicators approve", nil, func(sess *session) error {
		reg, _, err := sess.indicatorRecords(ctx)
		if err != nil {
			return err
		}
		action := "indicators.approve"
		if !approve {
			action = "indicators.reject"
		}
		target := map[string]string{"indicator": name}
		a, err := reg.Decide(ctx, name, sess.operator, sess.prov.Profile(), approve, reason)
		if errors.Is(err, indicators.ErrSelfApproval) {
			return sess.deny(ctx, action, target, &exitError{code: exitFailure, err: fmt.Errorf("%w (SEC-EXP-5)", err)})
		}
		if err != nil {
			return err
		}
		target["definition"] = a.Hash[:16]
		if err := sess.event(ctx, "", action, "ok", target, nil, ""); err != nil {
			return err
		}
		return g.result(a, "indicator %s: %s (definition %s)\n", name, a.Decision, a.Hash[:16])
	})
}

func runIndicatorsRun(ctx context.Context, g *globals, name, out, workspace, format string) error {
	if err := g.requireProfile(keys.ProfileCurator); err != nil {
		return err
	}
	if !indicators.ValidName(name) {
		return usageErr("indicator name must be 1-64 of a-z, 0-9, '-', '_'")
	}
	if workspace != "" && !keys.ValidProject(workspace) {
		return usageErr("workspace must be 1-64 of a-z, 0-9, '-', '_'")
	}
	formats := splitList(format)
	for _, f := range formats {
		if f != "parquet" && f != "csv" {
			return usageErr("--format takes parquet and csv")
		}
	}
	return g.within(ctx, "indicators run", nil, func(sess *session) error {
		reg, ledger, err := sess.indicatorRecords(ctx)
		if err != nil {
			return err
		}
		target := map[string]string{"indicator": name}
		if workspace != "" {
			target["project"] = workspace
		}
		e, err := reg.Approved(ctx, name)
		if err != nil {
			if errors.Is(err, indicators.ErrNotApproved) {
				return sess.deny(ctx, "indicators.run", target, &exitError{code: exitFailure, err: err})
			}
			if errors.Is(err, indicators.ErrTampered) {
				sess.event(ctx, "", "indicators.run", "alert", target, nil, "indicator records do not verify")
			}
			return err
		}
		plan, err := indicators.Compile(e.Submission.Definition, g.dict)
		if err != nil {
			return fmt.Errorf("approved indicator %s no longer compiles against the dictionary (define it again): %w", name, err)
		}
		target["definition"] = e.Submission.Hash[:16]
		budget, err := sess.indicatorBudget(ctx)
		if err != nil {
			return err
		}
		runID := warehouse.NewID(time.Now())
		target["run"] = runID
		d := plan.Def
		spend, err := ledger.Charge(ctx, sess.operator, budget, name, runID, d.Epsilon, d.Delta)
		if err != nil {
			var be *indicators.BudgetError
			if errors.As(err, &be) {
				sess.event(ctx, "", "indicators.run", "denied", target,
					map[string]int64{"epsilon_micro": micro(d.Epsilon), "spent_epsilon_micro": micro(be.SpentEpsilon), "budget_epsilon_micro": micro(budget.Epsilon)},
					"privacy budget exhausted")
				return &exitError{code: exitFailure, err: err}
			}
			if errors.Is(err, indicators.ErrTampered) {
				sess.event(ctx, "", "indicators.run", "alert", target, nil, "privacy budget ledger does not verify")
			}
			return err
		}
		// The spend is recorded (ledger, then audit) before anything is computed.
		spendTarget := map[string]string{"indicator": name, "run": runID, "period": spend.Period}
		if err := sess.event(ctx, "", "indicators.spend", "ok", spendTarget,
			map[string]int64{"seq": spend.Seq, "epsilon_micro": micro(spend.Epsilon), "total_epsilon_micro": micro(spend.TotalEpsilon)}, ""); err != nil {
			return err
		}
		var src indicatorTable = export.HealthSource(sess.wh, nil)
		table := "health"
		if workspace != "" {
			ws, err := export.WorkspaceSource(ctx, sess.wh, workspace, "records")
			if err != nil {
				return err
			}
			defer ws.Close()
			src, table = ws, "records"
		}
		// Persons whose processing is restricted (GDPR art. 18) count in no
		// indicator, as they are left out of exports.
		restricted, err := sess.withoutRestricted(ctx, src, table, workspace)
		if err != nil {
			return err
		}
		rows := indicatorRows{t: src, skip: restricted.skip}
		res, stats, err := indicators.Compute(ctx, plan, rows, nil)
		if err != nil {
			return err
		}
		var files []string
		if out != "" {
			if files, err = writeIndicator(out, runID, res, formats); err != nil {
				return err
			}
		}
		if err := sess.event(ctx, "", "indicators.run", "ok", target, map[string]int64{"rows": stats.Rows, "groups_released": stats.GroupsReleased,
			"groups_withheld": stats.GroupsSeen - stats.GroupsReleased}, ""); err != nil {
			return err
		}
		if g.json {
			return g.result(map[string]any{"run": runID, "result": res, "files": files,
				"budget": map[string]any{"period": spend.Period, "spent_epsilon": spend.TotalEpsilon, "spent_delta": spend.TotalDelta, "budget": budget}}, "")
		}
		fmt.Fprintf(g.stdout, "indicator %s, run %s: %d values (%s, epsilon %g, delta %g; budget %s: %g of %g spent)\n",
			name, runID, len(res.Values), d.Noise, d.Epsilon, d.Delta, spend.Period, spend.TotalEpsilon, budget.Epsilon)
		cols := indicators.TableColumns(res)
		fmt.Fprintln(g.stdout, "  "+strings.Join(cols[:len(res.GroupBy)+5], "\t"))
		for _, v := range res.Values {
			line := append([]string{}, v.Group...)
			lo, hi := "", ""
			if v.Lower != nil {
				lo, hi = fmt.Sprintf("%.4g", *v.Lower), fmt.Sprintf("%.4g", *v.Upper)
			}
			rank := ""
			if res.Measure == indicators.Quantiles {
				rank = fmt.Sprint(v.Rank)
			}
			line = append(line, v.Bucket, rank, fmt.Sprintf("%.4g", v.Value), lo, hi)
			fmt.Fprintln(g.stdout, "  "+strings.Join(line, "\t"))
		}
		fmt.Fprintf(g.stdout, "  singling out: %s\n  linkability: %s\n  inference: %s\n", res.G29.SinglingOut, res.G29.Linkability, res.G29.Inference)
		for _, f := range files {
			fmt.Fprintf(g.stdout, "  wrote %s\n", f)
		}
		return nil
	})
}

func micro(f float64) int64 { return indicators.Micro(f) }

// writeIndicator writes the run's table(s) and report to dir (0700, files 0600).
func writeIndicator(dir, runID string, res *indicators.Result, formats []string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	base := filepath.Join(dir, res.Indicator+"-"+runID)
	var files []string
	write := func(path string, fn func(f *os.File) error) error {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		if err := fn(f); err != nil {
			f.Close()
			os.Remove(path)
			return err
		}
		files = append(files, path)
		return f.Close()
	}
	for _, ft := range formats {
		var err error
		switch ft {
		case "parquet":
			err = write(base+".parquet", func(f *os.File) error { return indicators.WriteParquet(f, res) })
		case "csv":
			err = write(base+".csv", func(f *os.File) error { return indicators.WriteCSV(f, res) })
		}
		if err != nil {
			return files, err
		}
	}
	err := write(base+".report.json", func(f *os.File) error { return writeJSON(f, res) })
	return files, err
}

func runIndicatorsList(ctx context.Context, g *globals) error {
	return g.within(ctx, "indicators list", []string{keys.ProfileCurator, keys.ProfileApprover}, func(sess *session) error {
		reg, ledger, err := sess.indicatorRecords(ctx)
		if err != nil {
			return err
		}
		es, err := reg.Entries(ctx, "")
		if err != nil {
			return err
		}
		budget, err := sess.indicatorBudget(ctx)
		if err != nil {
			return err
		}
		now := time.Now()
		eps, delta, err := ledger.Spent(ctx, sess.operator, budget, now)
		if err != nil {
			return err
		}
		period, _ := indicators.PeriodKey(budget.Period, now)
		type item struct {
			Name, Status, Hash, Author, Approver string
			Epsilon                              float64
		}
		var items []item
		for _, e := range es {
			it := item{Name: e.Submission.Definition.Name, Status: e.Status(), Hash: e.Submission.Hash, Author: e.Submission.Author, Epsilon: e.Submission.Definition.Epsilon}
			if e.Approval != nil {
				it.Approver = e.Approval.Approver
			}
			items = append(items, it)
		}
		if err := sess.event(ctx, "", "indicators.list", "ok", nil, map[string]int64{"definitions": int64(len(items))}, ""); err != nil {
			return err
		}
		if g.json {
			return g.result(map[string]any{"definitions": items, "budget": budget, "period": period, "spent_epsilon": eps, "spent_delta": delta}, "")
		}
		fmt.Fprintf(g.stdout, "privacy budget of %s: epsilon %g of %g spent, delta %g of %g\n", period, eps, budget.Epsilon, delta, budget.Delta)
		for _, it := range items {
			fmt.Fprintf(g.stdout, "%s\t%s\tepsilon %g\t%s\n", it.Name, it.Status, it.Epsilon, it.Hash[:16])
		}
		return nil
	})
}

func runIndicatorsVerify(ctx context.Context, g *globals) error {
	return g.withMAC(ctx, "indicators verify", []string{keys.ProfileAdmin}, func(sess *session, mac audit.MAC) error {
		// The events' payloads are sealed (SRS-091): admin opens them.
		_, segs, err := audit.VerifyOpen(ctx, sess.st, mac, sess.prov)
		if err != nil {
			return err
		}
		var spends []indicators.SpendEvent
		for _, sg := range segs {
			for _, ev := range sg.Events {
				if ev.Action == "indicators.spend" && ev.Outcome == "ok" {
					spends = append(spends, indicators.SpendEvent{Consumer: ev.Operator, Period: ev.Target["period"], Run: ev.Target["run"], Seq: ev.Counts["seq"],
						EpsilonMicro: ev.Counts["epsilon_micro"], TotalEpsilonMicro: ev.Counts["total_epsilon_micro"]})
				}
			}
		}
		ledger := &indicators.Ledger{St: sess.st, MAC: mac}
		findings, err := ledger.Reconcile(ctx, spends)
		if err != nil {
			return err
		}
		counts := map[string]int64{"spends": int64(len(spends)), "findings": int64(len(findings))}
		if len(findings) > 0 {
			sess.event(ctx, "", "indicators.verify", "alert", nil, counts, "privacy budget ledger does not match the audit trail")
			if g.json {
				g.result(map[string]any{"spends": len(spends), "findings": findings}, "")
			}
			for _, f := range findings {
				fmt.Fprintf(g.stderr, "hdw: ALERT: %s\n", f)
			}
			return &exitError{code: exitFailure, err: fmt.Errorf("%d privacy budget spend(s) of the audit trail not in the ledger", len(findings))}
		}
		if err := sess.event(ctx, "", "indicators.verify", "ok", nil, counts, ""); err != nil {
			return err
		}
		return g.result(map[string]any{"spends": len(spends), "findings": []string{}}, "indicators verify: ok, %d spends of the audit trail in the ledger\n", len(spends))
	})
}
