package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"hdw/export"
	"hdw/internal/runtimetune"
	"hdw/keys"
)

func newExportCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "export", Short: "anonymity-checked exports with signed approval, quarantine and alert (SEC-EXP-1..5)"}
	var o exportOpts
	req := &cobra.Command{
		Use:   "request PROJECT --approval REF",
		Short: "check a table for anonymity and submit it for approval (curator)",
		Long: `Request reads the table (--table health: the pseudonymized health records of
every committed batch; records or genetic: the PROJECT workspace's), generalizes
it (--rules column:kind[:width], kinds: age-band, date-month, date-quarter,
date-year, postcode-department, postcode-region, bin, keep, drop), suppresses
records within the limit, and checks the three G29 criteria: singling out
(k-anonymity in persons), linkability (no pseudonym, UID, token, free text,
exact date or unique value; rows shuffled), inference (l-diversity and
t-closeness in persons).

The quasi-identifiers are the data dictionary's (every column marked
quasi_identifier and every derived one); --quasi adds to them, a rule "drop"
keeps one out of the release. Every released column must be declared in the
dictionary. k, l, t and --max-suppression default to the sealed warehouse
policy and may only be tightened. The request names its project, its
committee approval (--approval CSE/IRB number) and, when the project has a
workspace, --workspace.

Pass: pending approval by an approver who is not the requester. Fail: the
dataset goes to quarantine/, an alert is raised (audit, stderr, webhook) and
the exit code is 3.`,
		Example: `  hdw --profile curator export request cardio --approval CSE-2026-014 --sensitive diagnosis \
      --rules birth_year:age-band:10,visit_date:date-year --k 5 --l 2`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExportRequest(cmd.Context(), g, args[0], o)
		},
	}
	f := req.Flags()
	f.StringVar(&o.table, "table", "health", "table to export: health, or records / genetic of the PROJECT workspace")
	f.StringVar(&o.approval, "approval", "", "committee approval reference (CSE/IRB number; mandatory)")
	f.StringVar(&o.workspace, "workspace", "", "the project's workspace (mandatory when it has one)")
	f.StringVar(&o.quasi, "quasi", "", "quasi-identifier columns added to the dictionary's (which always apply)")
	f.StringVar(&o.pseudonyms, "pseudonyms", "none", "none, or export: a pseudonym column of this export only (fresh key, discarded)")
	f.StringVar(&o.sensitive, "sensitive", "", "sensitive columns")
	f.StringVar(&o.rules, "rules", "", "generalization rules column:kind[:width], comma-separated")
	f.IntVar(&o.k, "k", 0, "k-anonymity (default and minimum: the policy's)")
	f.IntVar(&o.l, "l", 0, "l-diversity (default and minimum: the policy's)")
	f.Float64Var(&o.t, "t", 0, "t-closeness bound (default and maximum: the policy's; 0: the policy's)")
	f.Float64Var(&o.maxSupp, "max-suppression", 0, "share of rows that may be suppressed (default and maximum: the policy's)")
	c.AddCommand(req)
	var just string
	app := &cobra.Command{Use: "approve ID", Short: "approve an export (approver, not the requester; SEC-EXP-2)", Args: cobra.ExactArgs(1),
		Long: `Approve appends a signed approval to the export's history. The approver is
another operator than the requester. A quarantined export (a check failed) is
released only with --justification of substance (the policy's minimum length,
several words) and, per the policy, a second approver (another approver, or
the DPO); such a release is flagged in the audit review.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExportDecide(cmd.Context(), g, args[0], true, just)
		}}
	app.Flags().StringVar(&just, "justification", "", "written justification, required to release a quarantined export after manual review (SEC-EXP-3)")
	c.AddCommand(app)
	var rjust string
	rej := &cobra.Command{Use: "reject ID", Short: "reject an export (approver)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExportDecide(cmd.Context(), g, args[0], false, rjust)
		}}
	rej.Flags().StringVar(&rjust, "reason", "", "why (kept in the history)")
	c.AddCommand(rej)
	var out string
	fetch := &cobra.Command{Use: "fetch ID --out DIR", Short: "write an approved export (data + report) to DIR (curator)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runExportFetch(cmd.Context(), g, args[0], out) }}
	fetch.Flags().StringVar(&out, "out", "", "output folder")
	c.AddCommand(fetch)
	var state string
	list := &cobra.Command{Use: "list [--state S]", Short: "list export requests with their verified state (approver, curator, dpo, admin)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runExportList(cmd.Context(), g, state) }}
	list.Flags().StringVar(&state, "state", "", "only this state: pending-approval, quarantined, awaiting-second-approval, approved, rejected, released, cancelled, forged")
	c.AddCommand(list)
	c.AddCommand(&cobra.Command{Use: "show ID", Short: "show one export: who, when, project, columns, rules, checks, suppression, history", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runExportShow(cmd.Context(), g, args[0]) }})
	return c
}

type exportOpts struct {
	table, approval, workspace, quasi, sensitive, rules, pseudonyms string
	k, l                                                            int
	t, maxSupp                                                      float64
}

// unsignedOperator writes history entries without a signature: only on a
// warehouse where no operator is enrolled yet (hdw operator add), or with
// Vault, whose token entity is the operator and which has no operator
// directory yet. export.Verify then runs without a directory: the content
// binding, the chain, four eyes by operator id and the justification
// rules are checked, not who signed (the view says so).
type unsignedOperator struct{ id string }

func (s unsignedOperator) OperatorID() string                           { return s.id }
func (s unsignedOperator) PublicKey() ed25519.PublicKey                 { return nil }
func (s unsignedOperator) Sign(context.Context, []byte) ([]byte, error) { return nil, nil }

// exportDirectory adapts keys.Directory to export.Directory.
type exportDirectory struct{ d keys.Directory }

func (o exportDirectory) Operator(ctx context.Context, id string) (export.Operator, error) {
	op, err := o.d.Operator(ctx, id)
	if err != nil {
		return export.Operator{}, err
	}
	return export.Operator{ID: op.ID, Role: string(op.Role), PublicKey: op.PublicKey}, nil
}

var _ export.Signer = keys.Signer(nil)

// exportDesk is the export workflow under the effective policy, as the
// session's operator acts on it (issue 21): once the admin has enrolled
// operators (local keyring), every entry is signed by the acting
// operator's own key (nil when nobody logged in: writing is then refused
// with export.ErrNotOperator) and verified against the directory: an
// unsigned or foreign entry is a forgery; the same with Vault once
// operators are enrolled there (vaultoperator.go). Before any enrolment,
// entries are unsigned.
func (s *session) exportDesk(ctx context.Context) (*export.Desk, error) {
	pol, polVersion, err := s.effectivePolicy(ctx)
	if err != nil {
		return nil, err
	}
	d := &export.Desk{WH: s.wh, Dict: s.g.dict, Policy: pol, PolicyVersion: polVersion, Operator: s.operator, Role: s.g.profile, Now: nowUTC,
		Signer: unsignedOperator{s.operator}}
	dir := directoryOf(s.prov) // local keyring or Vault (vaultoperator.go)
	if dir == nil {
		return d, nil
	}
	ops, err := dir.Operators(ctx)
	if err != nil {
		return nil, fmt.Errorf("operator directory: %w", err)
	}
	if len(ops) == 0 {
		return d, nil
	}
	d.Signer, d.Dir = nil, exportDirectory{dir}
	if sg := s.Signer(); sg != nil {
		d.Signer = sg
	}
	return d, nil
}

// withExport runs fn in the session of an export command for the
// allowed profiles (a refusal is audited) with the export desk under the
// sealed policy (flags and --config only tighten it).
func (g *globals) withExport(ctx context.Context, command, action string, allowed []string, fn func(*session, *export.Desk) error) error {
	return g.within(ctx, command, nil, func(sess *session) error {
		if err := sess.require(ctx, action, allowed...); err != nil {
			return err
		}
		desk, err := sess.exportDesk(ctx)
		if err != nil {
			return err
		}
		return fn(sess, desk)
	})
}

// exportErr turns the desk's typed errors into audited refusals and
// alerts: a refusal is a denial event, a forgery the forged-export alert.
func (s *session) exportErr(ctx context.Context, action, id string, target map[string]string, err error) error {
	var r *export.Refused
	switch {
	case err == nil:
		return nil
	case errors.As(err, &r) && r.Usage:
		return s.deny(ctx, action, target, &exitError{code: exitUsage, err: err})
	case errors.As(err, &r):
		return s.deny(ctx, action, target, &exitError{code: exitFailure, err: err})
	case errors.Is(err, export.ErrForged):
		return s.forgedAlert(ctx, id, err)
	case errors.Is(err, export.ErrNotFound):
		return &exitError{code: exitFailure, err: fmt.Errorf("no export %s (hdw export list)", id)}
	case errors.Is(err, export.ErrRequest):
		return usageErr("%v", err)
	}
	return err
}

func (s *session) forgedAlert(ctx context.Context, id string, err error) error {
	s.event(ctx, "", "export.forged", "alert", map[string]string{"export": id}, nil, "export records do not verify")
	fmt.Fprintf(s.g.stderr, "hdw: ALERT: export %s: its records do not verify (edited by hand?); nothing released\n", id)
	return &exitError{code: exitFailure, err: err}
}

// parseExportRequest checks the flags of export request.
func parseExportRequest(project string, o exportOpts) (export.SubmitRequest, error) {
	r := export.SubmitRequest{Project: project, ApprovalRef: o.approval, Workspace: o.workspace, Table: o.table}
	if !keys.ValidProject(project) {
		return r, usageErr("project must be 1-64 of a-z, 0-9, '-', '_'")
	}
	if !export.ValidRef(o.approval) {
		return r, usageErr("--approval REF is mandatory: the committee's approval (CSE/IRB number; A-Z a-z 0-9 . _ - / :)")
	}
	if r.Table != "health" && r.Table != "records" && r.Table != "genetic" {
		return r, usageErr("--table is health (warehouse records), or records / genetic (the PROJECT workspace's tables)")
	}
	if o.workspace != "" && !keys.ValidProject(o.workspace) {
		return r, usageErr("--workspace must be 1-64 of a-z, 0-9, '-', '_'")
	}
	// SEC-EXP-1: the requester adds quasi-identifiers to the dictionary's,
	// never removes one (export.Gate); only export-scoped pseudonyms.
	r.Request = export.Request{QuasiIdentifiers: splitList(o.quasi), Sensitive: splitList(o.sensitive), PersonColumn: "pseudonym",
		K: o.k, L: o.l, T: o.t, MaxSuppression: o.maxSupp}
	switch o.pseudonyms {
	case "", "none":
	case "export":
		r.Request.ExportPseudonyms = true
	default:
		return r, usageErr("--pseudonyms is none or export (a fresh pseudonym of this export only; warehouse and workspace pseudonyms are never released)")
	}
	for _, s := range splitList(o.rules) {
		rule, err := export.ParseRule(s)
		if err != nil {
			return r, usageErr("%v", err)
		}
		r.Request.Rules = append(r.Request.Rules, rule)
	}
	return r, nil
}

// exportSource is the table a request reads, without the restricted
// persons (GDPR art. 18), and fixes the request's workspace.
func (s *session) exportSource(ctx context.Context, r *export.SubmitRequest) (*rowFilter, error) {
	var src export.RowSource
	if r.Table == "health" {
		switch {
		case r.Workspace == "" && export.HasWorkspace(ctx, s.st, r.Project):
			return nil, usageErr("project %s has a workspace: name it with --workspace %s", r.Project, r.Project)
		case r.Workspace != "" && !export.HasWorkspace(ctx, s.st, r.Workspace):
			return nil, usageErr("no workspace %s", r.Workspace)
		}
		src = export.HealthSource(s.wh, export.HealthColumns(s.g.dict))
	} else {
		if r.Workspace != "" && r.Workspace != r.Project {
			return nil, usageErr("--table %s reads the PROJECT workspace: --workspace is %s", r.Table, r.Project)
		}
		// Inside a workspace: its table, its own pseudonyms as the person column.
		r.Workspace = r.Project
		ws, err := export.WorkspaceSource(ctx, s.wh, r.Project, r.Table)
		if err != nil {
			return nil, err
		}
		src = ws
	}
	return s.withoutRestricted(ctx, src, r.Table, r.Project)
}

func runExportRequest(ctx context.Context, g *globals, project string, o exportOpts) error {
	req, err := parseExportRequest(project, o)
	if err != nil {
		return err
	}
	// The checks keep per-class counters only; a soft memory limit keeps
	// the garbage collector from letting 10M-row checks past 1 GiB.
	runtimetune.MemoryLimit(g.getenv, 768<<20)
	return g.withExport(ctx, "export request", "export.request", []string{keys.ProfileCurator}, func(sess *session, desk *export.Desk) error {
		if desk.Signer == nil {
			return sess.exportErr(ctx, "export.request", "", map[string]string{"project": project}, &export.Refused{Err: export.ErrNotOperator})
		}
		src, err := sess.exportSource(ctx, &req)
		if err != nil {
			return err
		}
		sub, err := desk.Submit(ctx, src, req)
		if errors.Is(err, export.ErrLoosen) {
			return sess.deny(ctx, "policy.loosen", map[string]string{"project": project}, &exitError{code: exitFailure, err: err})
		}
		if err != nil {
			return sess.exportErr(ctx, "export.request", "", map[string]string{"project": project}, err)
		}
		id, rep := sub.ID, sub.Report
		target := map[string]string{"export": id, "project": project, "approval": o.approval}
		counts := map[string]int64{"rows": rep.Rows, "persons": rep.Persons, "classes": rep.Classes, "smallest_class": rep.SmallestClass, "suppressed": rep.Suppressed,
			"restricted_excluded": int64(len(src.excluded))}
		if rep.Pass {
			if err := sess.event(ctx, "", "export.request", "ok", target, counts, ""); err != nil {
				return err
			}
		} else if err := sess.quarantineAlert(ctx, sub, target, counts); err != nil {
			return err
		}
		if g.json {
			json.NewEncoder(g.stdout).Encode(map[string]any{"id": id, "status": sub.State.Status, "report": rep})
		} else {
			fmt.Fprintf(g.stdout, "export %s: %s\n", id, sub.State.Status)
			fmt.Fprintf(g.stdout, "  rows %d, persons %d, classes %d, smallest class %d (k=%d), suppressed %d\n", rep.Rows, rep.Persons, rep.Classes, rep.SmallestClass, rep.Request.K, rep.Suppressed)
			fmt.Fprintf(g.stdout, "  singling out: %v, linkability: %v, inference: %v\n", rep.SinglingOut.Pass, rep.Linkable.Pass, rep.Inference.Pass)
			for _, r := range rep.Reasons {
				fmt.Fprintf(g.stdout, "  reason: %s\n", r)
			}
		}
		if !rep.Pass {
			return &exitError{code: exitQuarantined}
		}
		return nil
	})
}

// quarantineAlert raises the alert of an export that failed the check
// (SEC-EXP-3): audit event, stderr, and the configured webhook.
func (s *session) quarantineAlert(ctx context.Context, sub *export.Submission, target map[string]string, counts map[string]int64) error {
	if err := s.event(ctx, "", "export.quarantine", "alert", target, counts, "anonymity check failed"); err != nil {
		return err
	}
	fmt.Fprintf(s.g.stderr, "hdw: ALERT: export %s failed the anonymity check and is quarantined (%s)\n", sub.ID, strings.Join(sub.Report.Reasons, "; "))
	if u := s.g.cfg.Export.WebhookURL; u != "" {
		body, _ := json.Marshal(map[string]any{"alert": "export quarantined", "export": sub.ID, "project": sub.Content.Project, "reasons": sub.Report.Reasons})
		hc := &http.Client{Timeout: 10 * time.Second}
		if resp, err := hc.Post(u, "application/json", bytes.NewReader(body)); err == nil {
			resp.Body.Close()
		} else {
			fmt.Fprintf(s.g.stderr, "hdw: alert webhook failed: %v\n", err)
		}
	}
	return nil
}

func runExportDecide(ctx context.Context, g *globals, id string, approve bool, justification string) error {
	return g.withExport(ctx, "export decide", "export.decide", []string{keys.ProfileApprover, keys.ProfileDPO}, func(sess *session, desk *export.Desk) error {
		action := "export.reject"
		if approve {
			action = "export.approve"
		}
		d, err := desk.Decide(ctx, id, approve, justification)
		target := map[string]string{"export": id}
		if d != nil && d.Files != nil {
			target["project"] = d.Files.Content.Project
		}
		if err != nil {
			return sess.exportErr(ctx, action, id, target, err)
		}
		outcome, reason := "ok", ""
		if d.Justified {
			// SEC-EXP-3: a release of a failed export is flagged in audit review.
			outcome, reason = "alert", "justified release of a quarantined export ("+d.State.Status+")"
			action = "export.justified-release"
		}
		if err := sess.event(ctx, "", action, outcome, target, nil, reason); err != nil {
			return err
		}
		return g.result(map[string]any{"export": id, "status": d.State.Status}, "export %s %s\n", id, d.State.Status)
	})
}

func runExportFetch(ctx context.Context, g *globals, id, out string) error {
	if out == "" {
		return usageErr("--out DIR is required")
	}
	return g.withExport(ctx, "export fetch", "export.fetch", []string{keys.ProfileCurator}, func(sess *session, desk *export.Desk) error {
		if err := os.MkdirAll(out, 0o700); err != nil {
			return err
		}
		dataPath := filepath.Join(out, "data.parquet")
		tmp := dataPath + ".part"
		df, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600) // every file hdw writes: 0600 (issue 23)
		if err != nil {
			return err
		}
		defer os.Remove(tmp)
		rel, err := desk.Release(ctx, id, df)
		if cerr := df.Close(); err == nil {
			err = cerr
		}
		target := map[string]string{"export": id}
		if rel != nil && rel.Files != nil {
			target["project"] = rel.Files.Content.Project
		}
		if err != nil {
			return sess.exportErr(ctx, "export.fetch", id, target, err)
		}
		if err := os.Rename(tmp, dataPath); err != nil {
			return err
		}
		n, err := parquetToCSV(dataPath, filepath.Join(out, "data.csv"))
		if err != nil {
			return err
		}
		if err := desk.Reports(ctx, rel.Files, func(name string, r io.Reader) error { return writeFile0600(filepath.Join(out, name), r) }); err != nil {
			return err
		}
		outcome, reason := "ok", ""
		if rel.State.Justified {
			outcome, reason = "alert", "release of a justified (quarantined) export"
		}
		if err := sess.event(ctx, "", "export.fetch", outcome, target, map[string]int64{"rows": int64(n)}, reason); err != nil {
			return err
		}
		return g.result(map[string]any{"export": id, "rows": n, "out": out, "files": []string{"data.parquet", "data.csv", "report.json", "report.html"}},
			"export %s: %d rows written to %s (data.parquet, data.csv, report.json, report.html)\n", id, n, out)
	})
}

// exportStates lists every export with its verified state; a forged one
// raises the alert.
func (s *session) exportStates(ctx context.Context, desk *export.Desk) ([]export.Summary, error) {
	all, err := desk.List(ctx)
	for _, e := range all {
		if e.State == "forged" {
			s.event(ctx, "", "export.forged", "alert", map[string]string{"export": e.ID}, nil, "export records do not verify")
		}
	}
	return all, err
}

func runExportList(ctx context.Context, g *globals, state string) error {
	if state != "" && !slices.Contains(export.States, state) {
		return usageErr("--state is one of %s", strings.Join(export.States, ", "))
	}
	return g.withExport(ctx, "export list", "export.list", []string{keys.ProfileApprover, keys.ProfileCurator, keys.ProfileDPO, keys.ProfileAdmin}, func(sess *session, desk *export.Desk) error {
		all, err := sess.exportStates(ctx, desk)
		if err != nil {
			return err
		}
		list := []export.Summary{}
		for _, e := range all {
			if state == "" || e.State == state {
				list = append(list, e)
			}
		}
		sess.event(ctx, "", "export.list", "ok", map[string]string{"state": state}, map[string]int64{"exports": int64(len(list))}, "")
		if g.json {
			return writeJSON(g.stdout, list)
		}
		for _, e := range list {
			j := ""
			if e.Justified {
				j = " (justified release)"
			}
			fmt.Fprintf(g.stdout, "%s  %-24s %s  project %s, approval %s, requested by %s%s\n", e.ID, e.State, e.Created.Format("2006-01-02 15:04"), e.Project, e.ApprovalRef, e.Requester, j)
		}
		if len(list) == 0 {
			fmt.Fprintln(g.stdout, "no export")
		}
		return nil
	})
}

func runExportShow(ctx context.Context, g *globals, id string) error {
	return g.withExport(ctx, "export show", "export.show", []string{keys.ProfileApprover, keys.ProfileCurator, keys.ProfileDPO, keys.ProfileAdmin}, func(sess *session, desk *export.Desk) error {
		f, state, err := desk.Open(ctx, id)
		if err != nil {
			return sess.exportErr(ctx, "export.show", id, map[string]string{"export": id}, err)
		}
		v := export.NewView(f.Content, f.History, state, f.Gate)
		sess.event(ctx, "", "export.show", "ok", map[string]string{"export": id}, nil, "")
		if g.json {
			return writeJSON(g.stdout, v)
		}
		printExportView(g.stdout, v)
		return nil
	})
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
