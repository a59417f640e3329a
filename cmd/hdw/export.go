package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"hdw/export"
	"hdw/keys"
	"hdw/objstore"
	"hdw/policy"
	"hdw/tables"
	"hdw/warehouse"
)

// Layout of an export under exports/<id>/ (passed the gate) or
// quarantine/<id>/ (failed it):
//
//	request.json        export.Content, written once: what was asked and found
//	history/<seq>.json  export.Entry, written once each: request, decisions, releases
//	gate.json           the gate's report, written once
//	report.json/.html   the approver's view, regenerated at each decision
//	data.parquet        the release, encrypted under its own data key
const (
	exportContent = "request.json"
	exportHistory = "history/"
	exportGate    = "gate.json"
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

// operatorDirectory adapts keys.Directory to export.Directory.
type exportDirectory struct{ d keys.Directory }

func (o exportDirectory) Operator(ctx context.Context, id string) (export.Operator, error) {
	op, err := o.d.Operator(ctx, id)
	if err != nil {
		return export.Operator{}, err
	}
	return export.Operator{ID: op.ID, Role: string(op.Role), PublicKey: op.PublicKey}, nil
}

var _ export.Signer = keys.Signer(nil)

// errNotOperator: a signed record needs a person's own key.
var errNotOperator = errors.New("export records are signed by the person who acts: log in as an enrolled operator (HDW_OPERATOR=NAME, their own passphrase; with Vault, their own Vault login; hdw operator add) (SEC-EXP-2)")

// exportTrust returns who signs the session's export records and the
// directory that verifies them (issue 21). Once the admin has enrolled
// operators (local keyring), every entry is signed by the acting
// operator's own key (keys.Signer; nil when nobody logged in: writing is
// then refused with errNotOperator) and verified against the directory:
// an unsigned or foreign entry is a forgery. Before any enrolment, and
// with Vault, entries are unsigned (dir nil).
func (s *session) exportTrust(ctx context.Context) (export.Signer, export.Directory, error) {
	dir := directoryOf(s.prov) // local keyring or Vault (vaultoperator.go)
	if dir == nil {
		return unsignedOperator{s.operator}, nil, nil
	}
	ops, err := dir.Operators(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("operator directory: %w", err)
	}
	if len(ops) == 0 {
		return unsignedOperator{s.operator}, nil, nil
	}
	var signer export.Signer
	if sg := s.Signer(); sg != nil {
		signer = sg
	}
	return signer, exportDirectory{dir}, nil
}

// exportSigner returns the signer for a new entry, or errNotOperator.
func (s *session) exportSigner(ctx context.Context) (export.Signer, export.Directory, error) {
	signer, dir, err := s.exportTrust(ctx)
	if err != nil {
		return nil, nil, err
	}
	if signer == nil {
		return nil, nil, &exitError{code: exitFailure, err: errNotOperator}
	}
	return signer, dir, nil
}

// approvalRules are the sealed policy's rules for export histories.
func approvalRules(p policy.Policy) export.Rules {
	return export.Rules{
		JustifiedSecondApprover: p.Approval.JustifiedSecondApprover,
		SecondMayBeDPO:          p.Approval.JustifiedSecondMayBeDPO,
		Substantive:             func(j string) bool { return policy.Substantive(j, p.Approval.JustificationMinChars) },
	}
}

// exportSnapshot names the data a request is computed from.
func exportSnapshot(ctx context.Context, wh *warehouse.Warehouse, table, project string) (string, error) {
	h := sha256.New()
	if table == "health" {
		cs, err := wh.Commits(ctx)
		if err != nil {
			return "", err
		}
		for _, c := range cs {
			fmt.Fprintf(h, "%s\n", c.Batch)
		}
		return "batches:" + hex.EncodeToString(h.Sum(nil)), nil
	}
	info, err := wh.St.Stat(ctx, "workspaces/"+project+"/"+table+".parquet")
	if err != nil {
		return "", err
	}
	fmt.Fprintf(h, "%s %d %s", info.Key, info.Size, info.ETag)
	return "workspace:" + hex.EncodeToString(h.Sum(nil)), nil
}

func hasWorkspace(ctx context.Context, s objstore.Store, project string) bool {
	for info, err := range s.List(ctx, "workspaces/"+project+"/") {
		if err == nil && info.Key != "" {
			return true
		}
		break
	}
	return false
}

func sha256Object(ctx context.Context, s objstore.Store, key string) (string, error) {
	r, err := s.Open(ctx, key)
	if err != nil {
		return "", err
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func runExportRequest(ctx context.Context, g *globals, project string, o exportOpts) error {
	if !keys.ValidProject(project) {
		return usageErr("project must be 1-64 of a-z, 0-9, '-', '_'")
	}
	if o.approval == "" || !validRef(o.approval) {
		return usageErr("--approval REF is mandatory: the committee's approval (CSE/IRB number; A-Z a-z 0-9 . _ - / :)")
	}
	table := o.table
	if table != "health" && table != "records" && table != "genetic" {
		return usageErr("--table is health (warehouse records), or records / genetic (the PROJECT workspace's tables)")
	}
	if o.workspace != "" && !keys.ValidProject(o.workspace) {
		return usageErr("--workspace must be 1-64 of a-z, 0-9, '-', '_'")
	}
	// SEC-EXP-1: the requester adds quasi-identifiers to the dictionary's,
	// never removes one (export.Gate); only export-scoped pseudonyms.
	req := export.Request{QuasiIdentifiers: splitList(o.quasi), Sensitive: splitList(o.sensitive), PersonColumn: "pseudonym",
		K: o.k, L: o.l, T: o.t, MaxSuppression: o.maxSupp}
	switch o.pseudonyms {
	case "", "none":
	case "export":
		req.ExportPseudonyms = true
	default:
		return usageErr("--pseudonyms is none or export (a fresh pseudonym of this export only; warehouse and workspace pseudonyms are never released)")
	}
	for _, r := range splitList(o.rules) {
		rule, err := export.ParseRule(r)
		if err != nil {
			return usageErr("%v", err)
		}
		req.Rules = append(req.Rules, rule)
	}
	// The checks keep per-class counters only; a soft memory limit keeps
	// the garbage collector from letting 10M-row checks past 1 GiB.
	if g.getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(768 << 20)
	}
	sess, err := g.open(ctx, "export request")
	if err != nil {
		return err
	}
	defer sess.close(ctx)
	if err := sess.require(ctx, "export.request", keys.ProfileCurator); err != nil {
		return err
	}
	// The floors are the sealed policy's (flags and --config only tighten).
	pol, polVersion, err := sess.effectivePolicy(ctx)
	if err != nil {
		return err
	}
	signer, _, err := sess.exportSigner(ctx)
	if err != nil {
		return sess.deny(ctx, "export.request", map[string]string{"project": project}, err)
	}
	workspace := o.workspace
	if table != "health" {
		if workspace != "" && workspace != project {
			return usageErr("--table %s reads the PROJECT workspace: --workspace is %s", table, project)
		}
		workspace = project
	} else if workspace == "" && hasWorkspace(ctx, sess.st, project) {
		return usageErr("project %s has a workspace: name it with --workspace %s", project, project)
	} else if workspace != "" && !hasWorkspace(ctx, sess.st, workspace) {
		return usageErr("no workspace %s", workspace)
	}
	var src export.RowSource
	if table == "health" {
		var cols []string
		cols = append(cols, "pseudonym", "record_id", "batch", "collected", "study_uid", "sop_uid", "notes")
		for _, c := range st.dict.Columns {
			if c.Category == "health" || c.Category == "derived" {
				cols = append(cols, c.Name)
			}
		}
		src = &healthSource{wh: sess.wh, cols: cols}
	} else {
		// Inside a workspace: its table, its own pseudonyms as the person column.
		ws, err := workspaceSource(ctx, sess.wh, project, table)
		if err != nil {
			return err
		}
		src = ws
	}
	// GDPR art. 18: restricted persons are left out of new exports.
	filtered, err := sess.withoutRestricted(ctx, src, table, project)
	if err != nil {
		return err
	}
	src = filtered
	gate := export.Gate{Dict: st.dict, Floors: export.Floors{K: pol.Export.K, L: pol.Export.L, T: pol.Export.T, MaxSuppression: pol.Export.MaxSuppression}}
	rep, err := gate.Check(ctx, src, req)
	if err != nil {
		if errors.Is(err, export.ErrLoosen) {
			return sess.deny(ctx, "policy.loosen", map[string]string{"project": project}, &exitError{code: exitFailure, err: err})
		}
		if errors.Is(err, export.ErrRequest) {
			return usageErr("%v", err)
		}
		return err
	}
	snapshot, err := exportSnapshot(ctx, sess.wh, table, project)
	if err != nil {
		return err
	}
	id := warehouse.NewID(time.Now())
	root := "exports/" + id + "/"
	if !rep.Pass {
		root = "quarantine/" + id + "/"
	}
	// The released (or held) data, encrypted with a data key of its own.
	deks, err := sess.wh.NewBatchKeys(ctx, "export-"+id, []string{keys.Health}, false)
	if err != nil {
		return err
	}
	dek := deks[keys.Health]
	defer dek.Wipe()
	w, err := warehouse.CreateEncrypted(ctx, sess.st, root+"data.parquet", dek)
	if err != nil {
		return err
	}
	tw := warehouse.NewTableWriter(w, rep.OutputColumns)
	if err := export.Apply(ctx, src, rep, tw.Write); err != nil {
		objstore.Abort(w)
		return err
	}
	if err := tw.Close(); err != nil {
		objstore.Abort(w)
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	dataHash, err := sha256Object(ctx, sess.st, root+"data.parquet")
	if err != nil {
		return err
	}
	content := export.Content{ID: id, Project: project, ApprovalRef: o.approval, Workspace: workspace, Table: table,
		Requester: sess.operator, Created: nowUTC().Truncate(time.Millisecond), Request: rep.Request, Snapshot: snapshot,
		DataSHA256: dataHash, PolicyVersion: polVersion, Pass: rep.Pass}
	if err := putJSONOnce(ctx, sess.st, root+exportGate, rep); err != nil {
		return err
	}
	if err := putJSONOnce(ctx, sess.st, root+exportContent, content); err != nil {
		return err
	}
	e, err := export.NewEntry(ctx, signer, g.profile, nil, content, export.KindRequest, "", nowUTC())
	if err != nil {
		return err
	}
	if err := putJSONOnce(ctx, sess.st, historyKey(root, e.Seq), e); err != nil {
		return err
	}
	state := export.State{Status: "pending-approval"}
	if !rep.Pass {
		state.Status = "quarantined"
	}
	view := export.NewView(content, []export.Entry{e}, state, rep)
	if err := writeExportView(ctx, sess.st, root, view); err != nil {
		return err
	}
	target := map[string]string{"export": id, "project": project, "approval": o.approval}
	counts := map[string]int64{"rows": rep.Rows, "persons": rep.Persons, "classes": rep.Classes, "smallest_class": rep.SmallestClass, "suppressed": rep.Suppressed,
		"restricted_excluded": int64(len(filtered.excluded))}
	if rep.Pass {
		if err := sess.event(ctx, "", "export.request", "ok", target, counts, ""); err != nil {
			return err
		}
	} else {
		// SEC-EXP-3: alert escalation and quarantine.
		if err := sess.event(ctx, "", "export.quarantine", "alert", target, counts, "anonymity check failed"); err != nil {
			return err
		}
		fmt.Fprintf(g.stderr, "hdw: ALERT: export %s failed the anonymity check and is quarantined (%s)\n", id, strings.Join(rep.Reasons, "; "))
		if u := st.cfg.Export.WebhookURL; u != "" {
			body, _ := json.Marshal(map[string]any{"alert": "export quarantined", "export": id, "project": project, "reasons": rep.Reasons})
			hc := &http.Client{Timeout: 10 * time.Second}
			if resp, err := hc.Post(u, "application/json", bytes.NewReader(body)); err == nil {
				resp.Body.Close()
			} else {
				fmt.Fprintf(g.stderr, "hdw: alert webhook failed: %v\n", err)
			}
		}
	}
	if g.json {
		json.NewEncoder(g.stdout).Encode(map[string]any{"id": id, "status": state.Status, "report": rep})
	} else {
		fmt.Fprintf(g.stdout, "export %s: %s\n", id, state.Status)
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
}

func validRef(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/:", r)) {
			return false
		}
	}
	return true
}

func historyKey(root string, seq int) string {
	return fmt.Sprintf("%s%s%06d.json", root, exportHistory, seq)
}

// putJSONOnce writes v at key unless the key exists (records are write-once).
func putJSONOnce(ctx context.Context, s objstore.Store, key string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := s.PutIfAbsent(ctx, key, bytes.NewReader(b)); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}

// writeExportView (re)writes report.json and report.html.
func writeExportView(ctx context.Context, s objstore.Store, root string, v export.View) error {
	if err := warehouse.WriteJSON(ctx, s, root+"report.json", v); err != nil {
		return err
	}
	var html bytes.Buffer
	if err := export.WriteHTML(&html, v); err != nil {
		return err
	}
	hw, err := s.Create(ctx, root+"report.html")
	if err != nil {
		return err
	}
	if _, err := hw.Write(html.Bytes()); err != nil {
		objstore.Abort(hw)
		return err
	}
	return hw.Close()
}

// exportFiles is an export as read from the warehouse.
type exportFiles struct {
	root    string
	content export.Content
	history []export.Entry
	gate    *export.Report
}

func readJSONStrict(ctx context.Context, s objstore.Store, key string, v any) error {
	r, err := s.Open(ctx, key)
	if err != nil {
		return err
	}
	defer r.Close()
	dec := json.NewDecoder(io.LimitReader(r, 8<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %s: %v", export.ErrForged, key, err)
	}
	return nil
}

// loadExport reads an export's content, history and gate report.
// loadExport loads an export of the session's warehouse; a record that
// does not verify raises the forged-export alert (audited) first.
func (s *session) loadExport(ctx context.Context, id string) (*exportFiles, error) {
	f, err := loadExport(ctx, s.st, id)
	if errors.Is(err, export.ErrForged) {
		return nil, s.forgedAlert(ctx, id, err)
	}
	return f, err
}

func loadExport(ctx context.Context, s objstore.Store, id string) (*exportFiles, error) {
	if !validRef(id) || strings.ContainsAny(id, "/.") {
		return nil, usageErr("bad export id")
	}
	for _, root := range []string{"exports/" + id + "/", "quarantine/" + id + "/"} {
		if _, err := s.Stat(ctx, root+exportContent); err != nil {
			continue
		}
		f := &exportFiles{root: root}
		if err := readJSONStrict(ctx, s, root+exportContent, &f.content); err != nil {
			return f, err
		}
		var keys []string
		for info, err := range s.List(ctx, root+exportHistory) {
			if err != nil {
				return f, err
			}
			keys = append(keys, info.Key)
		}
		sort.Strings(keys)
		for _, k := range keys {
			var e export.Entry
			if err := readJSONStrict(ctx, s, k, &e); err != nil {
				return f, err
			}
			f.history = append(f.history, e)
		}
		f.gate = new(export.Report)
		if err := readJSONStrict(ctx, s, root+exportGate, f.gate); err != nil {
			return f, err
		}
		if f.content.ID != id {
			return f, fmt.Errorf("%w: %s names another export", export.ErrForged, root+exportContent)
		}
		return f, nil
	}
	return nil, &exitError{code: exitFailure, err: fmt.Errorf("no export %s (hdw export list)", id)}
}

// verifyExport verifies an export's history against the policy; a forgery
// raises an audit alert and fails the command.
func (s *session) verifyExport(ctx context.Context, f *exportFiles, pol policy.Policy) (export.State, error) {
	_, dir, err := s.exportTrust(ctx)
	if err != nil {
		return export.State{}, err
	}
	state, err := export.Verify(ctx, dir, f.content, f.history, approvalRules(pol))
	if err == nil {
		return state, nil
	}
	return state, s.forgedAlert(ctx, f.content.ID, err)
}

func (s *session) forgedAlert(ctx context.Context, id string, err error) error {
	s.event(ctx, "", "export.forged", "alert", map[string]string{"export": id}, nil, "export records do not verify")
	fmt.Fprintf(s.g.stderr, "hdw: ALERT: export %s: its records do not verify (edited by hand?); nothing released\n", id)
	return &exitError{code: exitFailure, err: err}
}

func runExportDecide(ctx context.Context, g *globals, id string, approve bool, justification string) error {
	sess, err := g.open(ctx, "export decide")
	if err != nil {
		return err
	}
	defer sess.close(ctx)
	if err := sess.require(ctx, "export.decide", keys.ProfileApprover, keys.ProfileDPO); err != nil {
		return err
	}
	pol, _, err := sess.effectivePolicy(ctx)
	if err != nil {
		return err
	}
	f, err := sess.loadExport(ctx, id)
	if err != nil {
		return err
	}
	action := "export.reject"
	kind := export.KindReject
	if approve {
		action, kind = "export.approve", export.KindApprove
	}
	target := map[string]string{"export": id, "project": f.content.Project}
	state, err := sess.verifyExport(ctx, f, pol)
	if err != nil {
		return err
	}
	// Clear refusals before the history check (which would refuse them too).
	switch {
	case f.content.Requester == sess.operator:
		return sess.deny(ctx, action, target, &exitError{code: exitFailure, err: errors.New("the requester may not decide on their own export (four eyes, SEC-EXP-2)")})
	case state.Status == "approved" || state.Status == "rejected" || state.Status == "released" || state.Status == "cancelled":
		return sess.deny(ctx, action, target, &exitError{code: exitFailure, err: fmt.Errorf("export %s is already %s", id, state.Status)})
	case g.profile == keys.ProfileDPO && !(state.Status == "awaiting-second-approval" && pol.Approval.JustifiedSecondMayBeDPO):
		return sess.deny(ctx, action, target, &exitError{code: exitFailure, err: errors.New("the DPO decides only as the second approver of a justified release, when the policy allows it")})
	case approve && !f.content.Pass && strings.TrimSpace(justification) == "":
		return sess.deny(ctx, action, target, usageErr("export %s is quarantined: releasing it needs a manual review and --justification (SEC-EXP-3)", id))
	case approve && !f.content.Pass && !policy.Substantive(justification, pol.Approval.JustificationMinChars):
		return sess.deny(ctx, action, target, usageErr("export %s: the justification is not one of substance: at least %d characters and several words saying what was reviewed and why the release is acceptable (SEC-EXP-3)", id, pol.Approval.JustificationMinChars))
	}
	for _, a := range state.Approvers {
		if a == sess.operator {
			return sess.deny(ctx, action, target, &exitError{code: exitFailure, err: errors.New("a second approval must come from another operator")})
		}
	}
	signer, dir, err := sess.exportSigner(ctx)
	if err != nil {
		return sess.deny(ctx, action, target, err)
	}
	e, err := export.NewEntry(ctx, signer, g.profile, f.history, f.content, kind, justification, nowUTC())
	if err != nil {
		return err
	}
	history := append(f.history, e)
	next, err := export.Verify(ctx, dir, f.content, history, approvalRules(pol))
	if err != nil {
		return sess.deny(ctx, action, target, &exitError{code: exitFailure, err: err})
	}
	if err := putJSONOnce(ctx, sess.st, historyKey(f.root, e.Seq), e); err != nil {
		return err
	}
	if err := writeExportView(ctx, sess.st, f.root, export.NewView(f.content, history, next, f.gate)); err != nil {
		return err
	}
	outcome, reason := "ok", ""
	if approve && !f.content.Pass {
		// SEC-EXP-3: a release of a failed export is flagged in audit review.
		outcome, reason = "alert", "justified release of a quarantined export ("+next.Status+")"
		action = "export.justified-release"
	}
	if err := sess.event(ctx, "", action, outcome, target, nil, reason); err != nil {
		return err
	}
	return g.result(map[string]any{"export": id, "status": next.Status}, "export %s %s\n", id, next.Status)
}

func runExportFetch(ctx context.Context, g *globals, id, out string) error {
	if out == "" {
		return usageErr("--out DIR is required")
	}
	sess, err := g.open(ctx, "export fetch")
	if err != nil {
		return err
	}
	defer sess.close(ctx)
	if err := sess.require(ctx, "export.fetch", keys.ProfileCurator); err != nil {
		return err
	}
	pol, _, err := sess.effectivePolicy(ctx)
	if err != nil {
		return err
	}
	f, err := sess.loadExport(ctx, id)
	if err != nil {
		return err
	}
	root := f.root
	target := map[string]string{"export": id, "project": f.content.Project}
	state, err := sess.verifyExport(ctx, f, pol)
	if err != nil {
		return err
	}
	if state.Status != "approved" && state.Status != "released" {
		return sess.deny(ctx, "export.fetch", target, &exitError{code: exitFailure, err: fmt.Errorf("export %s is %s: only approved exports can be fetched (SEC-EXP-2)", id, state.Status)})
	}
	if h, err := sha256Object(ctx, sess.st, root+"data.parquet"); err != nil || h != f.content.DataSHA256 {
		return sess.forgedAlert(ctx, id, fmt.Errorf("%w: the stored data is not the data that was checked and approved", export.ErrForged))
	}
	dek, err := sess.wh.DataKey(ctx, "export-"+id, keys.Health)
	if err != nil {
		return err
	}
	defer dek.Wipe()
	data, err := warehouse.ReadEncryptedAll(ctx, sess.st, root+"data.parquet", dek, warehouse.MaxTableBytes)
	if err != nil {
		return err
	}
	signer, dir, err := sess.exportSigner(ctx)
	if err != nil {
		return sess.deny(ctx, "export.fetch", target, err)
	}
	e, err := export.NewEntry(ctx, signer, g.profile, f.history, f.content, export.KindRelease, "", nowUTC())
	if err != nil {
		return err
	}
	history := append(f.history, e)
	next, err := export.Verify(ctx, dir, f.content, history, approvalRules(pol))
	if err != nil {
		return sess.forgedAlert(ctx, id, err)
	}
	if err := putJSONOnce(ctx, sess.st, historyKey(root, e.Seq), e); err != nil {
		return err
	}
	view := export.NewView(f.content, history, next, f.gate)
	if err := writeExportView(ctx, sess.st, root, view); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "data.parquet"), data, 0o600); err != nil {
		return err
	}
	cf, err := os.OpenFile(filepath.Join(out, "data.csv"), os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600) // every file hdw writes: 0600 (issue 23)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(cf)
	header, err := warehouse.ReadTable(data, func(map[string]string) error { return errStop })
	if err != nil && !errors.Is(err, errStop) {
		cf.Close()
		return err
	}
	cw.Write(header)
	n := 0
	warehouse.ReadTable(data, func(m map[string]string) error {
		row := make([]string, len(header))
		for i, c := range header {
			row[i] = m[c]
		}
		n++
		return cw.Write(row)
	})
	cw.Flush()
	if err := cf.Close(); err != nil {
		return err
	}
	for _, name := range []string{"report.json", "report.html"} {
		r, err := sess.st.Open(ctx, root+name)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		b.ReadFrom(r)
		r.Close()
		if err := os.WriteFile(filepath.Join(out, name), b.Bytes(), 0o600); err != nil {
			return err
		}
	}
	outcome, reason := "ok", ""
	if next.Justified {
		outcome, reason = "alert", "release of a justified (quarantined) export"
	}
	if err := sess.event(ctx, "", "export.fetch", outcome, target, map[string]int64{"rows": int64(n)}, reason); err != nil {
		return err
	}
	return g.result(map[string]any{"export": id, "rows": n, "out": out, "files": []string{"data.parquet", "data.csv", "report.json", "report.html"}},
		"export %s: %d rows written to %s (data.parquet, data.csv, report.json, report.html)\n", id, n, out)
}

// exportIDs lists the ids under exports/ and quarantine/.
func exportIDs(ctx context.Context, s objstore.Store) ([]string, error) {
	seen := map[string]bool{}
	for _, p := range []string{"exports/", "quarantine/"} {
		for info, err := range s.List(ctx, p) {
			if err != nil {
				return nil, err
			}
			rest := strings.TrimPrefix(info.Key, p)
			if id, file, ok := strings.Cut(rest, "/"); ok && file == exportContent {
				seen[id] = true
			}
		}
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids, nil
}

// exportSummary is one line of export list.
type exportSummary struct {
	ID          string    `json:"id"`
	State       string    `json:"state"`
	Justified   bool      `json:"justified_release,omitempty"`
	Project     string    `json:"project"`
	ApprovalRef string    `json:"approval_ref"`
	Workspace   string    `json:"workspace,omitempty"`
	Requester   string    `json:"requester"`
	Created     time.Time `json:"created"`
	Pass        bool      `json:"pass"`
	Approvers   []string  `json:"approvers,omitempty"`
}

// exportStates reads and verifies every export (a forged one is listed as
// "forged" and alerted).
func (s *session) exportStates(ctx context.Context, pol policy.Policy) ([]exportSummary, error) {
	ids, err := exportIDs(ctx, s.st)
	if err != nil {
		return nil, err
	}
	var out []exportSummary
	_, dir, err := s.exportTrust(ctx)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		f, err := loadExport(ctx, s.st, id)
		if err != nil && !errors.Is(err, export.ErrForged) {
			return nil, err
		}
		sum := exportSummary{ID: id, State: "forged"}
		if f != nil {
			c := f.content
			sum = exportSummary{ID: id, State: "forged", Project: c.Project, ApprovalRef: c.ApprovalRef, Workspace: c.Workspace, Requester: c.Requester, Created: c.Created, Pass: c.Pass}
		}
		if err == nil {
			st, verr := export.Verify(ctx, dir, f.content, f.history, approvalRules(pol))
			if verr == nil {
				sum.State, sum.Justified, sum.Approvers = st.Status, st.Justified, st.Approvers
			}
		}
		if sum.State == "forged" {
			s.event(ctx, "", "export.forged", "alert", map[string]string{"export": id}, nil, "export records do not verify")
		}
		out = append(out, sum)
	}
	return out, nil
}

func runExportList(ctx context.Context, g *globals, state string) error {
	switch state {
	case "", "pending-approval", "quarantined", "awaiting-second-approval", "approved", "rejected", "released", "cancelled", "forged":
	default:
		return usageErr("--state is pending-approval, quarantined, awaiting-second-approval, approved, rejected, released, cancelled or forged")
	}
	sess, err := g.open(ctx, "export list")
	if err != nil {
		return err
	}
	defer sess.close(ctx)
	if err := sess.require(ctx, "export.list", keys.ProfileApprover, keys.ProfileCurator, keys.ProfileDPO, keys.ProfileAdmin); err != nil {
		return err
	}
	pol, _, err := sess.effectivePolicy(ctx)
	if err != nil {
		return err
	}
	all, err := sess.exportStates(ctx, pol)
	if err != nil {
		return err
	}
	list := []exportSummary{}
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
}

func runExportShow(ctx context.Context, g *globals, id string) error {
	sess, err := g.open(ctx, "export show")
	if err != nil {
		return err
	}
	defer sess.close(ctx)
	if err := sess.require(ctx, "export.show", keys.ProfileApprover, keys.ProfileCurator, keys.ProfileDPO, keys.ProfileAdmin); err != nil {
		return err
	}
	pol, _, err := sess.effectivePolicy(ctx)
	if err != nil {
		return err
	}
	f, err := sess.loadExport(ctx, id)
	if err != nil {
		return err
	}
	state, err := sess.verifyExport(ctx, f, pol)
	if err != nil {
		return err
	}
	v := export.NewView(f.content, f.history, state, f.gate)
	sess.event(ctx, "", "export.show", "ok", map[string]string{"export": id}, nil, "")
	if g.json {
		return writeJSON(g.stdout, v)
	}
	w := g.stdout
	fmt.Fprintf(w, "export %s: %s", v.ID, v.State)
	if v.Justified {
		fmt.Fprint(w, " (justified release of a failed export)")
	}
	fmt.Fprintf(w, "\n  project %s, approval %s", v.Project, v.ApprovalRef)
	if v.Workspace != "" {
		fmt.Fprintf(w, ", workspace %s", v.Workspace)
	}
	fmt.Fprintf(w, "\n  requested by %s at %s, table %s, policy version %d\n", v.Requester, v.Created.Format(time.RFC3339), v.Table, v.PolicyVersion)
	fmt.Fprintf(w, "  columns: %s\n  quasi-identifiers: %s (dictionary: %s)\n", strings.Join(v.Columns, ", "), strings.Join(v.QuasiIdentifiers, ", "), strings.Join(v.DictionaryQIs, ", "))
	var rules []string
	for _, r := range v.Rules {
		s := r.Column + ":" + r.Kind
		if r.Width != 0 {
			s += ":" + strconv.FormatFloat(r.Width, 'g', -1, 64)
		}
		rules = append(rules, s)
	}
	fmt.Fprintf(w, "  rules: %s\n  k=%d l=%d t=%g max suppression %.1f%%; rows %d, persons %d, suppressed %d\n", strings.Join(rules, ", "), v.K, v.L, v.T, v.MaxSuppression*100, v.Rows, v.Persons, v.Suppressed)
	fmt.Fprintln(w, "  checks:")
	for _, m := range v.Measures {
		res := "pass"
		if !m.Pass {
			res = "FAIL"
		}
		fmt.Fprintf(w, "    %-44s %-13s %10.3g  required %-22s %s\n", m.Name, m.Criterion, m.Value, m.Required, res)
	}
	sig := "signatures verified"
	if !v.SignaturesOK {
		sig = "signatures not verified (operator keys not enrolled)"
	}
	fmt.Fprintf(w, "  history (%s):\n", sig)
	for _, s := range v.History {
		fmt.Fprintf(w, "    %d %-8s %s (%s) %s", s.Seq, s.Kind, s.Operator, s.Role, s.Time.Format(time.RFC3339))
		if s.Justification != "" {
			fmt.Fprintf(w, ": %q", s.Justification)
		}
		fmt.Fprintln(w)
	}
	return nil
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

// healthSource reads the health records of every committed batch.
type healthSource struct {
	wh   *warehouse.Warehouse
	cols []string
}

func (h *healthSource) Columns() []string { return h.cols }

func (h *healthSource) Rows(ctx context.Context, fn func(map[string]string) error) error {
	cs, err := h.wh.Commits(ctx)
	if err != nil {
		return err
	}
	for _, c := range cs {
		dek, err := h.wh.DataKey(ctx, c.Batch, keys.Health)
		if err != nil {
			return err
		}
		for _, o := range c.Objects {
			if !strings.HasPrefix(o.Key, "health/records/") {
				continue
			}
			if _, err := warehouse.ReadEncryptedTable(ctx, h.wh.St, o.Key, dek, fn); err != nil && !errors.Is(err, objstore.ErrNotExist) {
				return err
			}
		}
		dek.Wipe()
	}
	return nil
}

// wsSource reads one table of a workspace (Parquet modular encryption
// under ws:<project>'s data key, or the envelope of a workspace built
// before issue 17), through package tables.
type wsSource struct {
	data []byte
	key  keys.Secret // the workspace data key when the table uses modular encryption
	cols []string
}

func workspaceSource(ctx context.Context, wh *warehouse.Warehouse, project, table string) (*wsSource, error) {
	dek, err := wh.DataKey(ctx, "ws-"+project, keys.Workspace(project))
	if err != nil {
		return nil, fmt.Errorf("workspace %s: %w", project, err)
	}
	data, err := tables.ReadObject(ctx, wh.St, "workspaces/"+project+"/"+table+".parquet", dek)
	if err != nil {
		dek.Wipe()
		return nil, fmt.Errorf("workspace %s table %s: %w", project, table, err)
	}
	src := &wsSource{data: data}
	if tables.IsModular(data) {
		src.key = dek
	} else {
		dek.Wipe()
	}
	s, err := tables.SchemaOf(bytes.NewReader(data), src.key)
	if err != nil {
		return nil, err
	}
	src.cols = s.Columns()
	return src, nil
}

var errStop = errors.New("stop")

func (w *wsSource) Columns() []string { return w.cols }
func (w *wsSource) Rows(ctx context.Context, fn func(map[string]string) error) error {
	m := map[string]string{}
	_, err := tables.ScanBytes(ctx, w.data, tables.Query{Key: w.key}, func(r *tables.Row) error { return fn(r.Map(m)) })
	return err
}
