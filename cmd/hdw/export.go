package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"hdw/export"
	"hdw/keys"
	"hdw/objstore"
	"hdw/tables"
	"hdw/warehouse"
)

// exportRecord is exports/<id>/request.json or quarantine/<id>/request.json.
type exportRecord struct {
	ID            string    `json:"id"`
	Project       string    `json:"project"`
	Table         string    `json:"table"`
	Requester     string    `json:"requester"`
	Created       time.Time `json:"created"`
	Status        string    `json:"status"` // pending-approval, quarantined, approved, rejected
	Pass          bool      `json:"pass"`
	Approver      string    `json:"approver,omitempty"`
	Decided       time.Time `json:"decided,omitempty"`
	Justification string    `json:"justification,omitempty"`
}

func newExportCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "export", Short: "anonymity-checked exports with approval, quarantine and alert (SEC-EXP-1..5)"}
	var o struct {
		table, quasi, sensitive, rules string
		k, l                           int
		t, maxSupp                     float64
	}
	req := &cobra.Command{
		Use:   "request PROJECT",
		Short: "check a table for anonymity and submit it for approval (curator)",
		Long: `Request reads the table (--table health: the pseudonymized health records of
every committed batch), generalizes it (--rules column:kind[:width], kinds:
age-band, date-month, date-quarter, date-year, postcode-department,
postcode-region, bin, keep, drop), suppresses records within the limit, and
checks the three G29 criteria: singling out (k-anonymity per person),
linkability (no pseudonym, UID, token, free text, exact date or unique
value), inference (l-diversity, t-closeness). Pass: pending approval by an
approver who is not the requester. Fail: the dataset goes to quarantine/, an
alert is raised (audit, stderr, webhook) and the exit code is 3.`,
		Example: `  hdw --profile curator export request cardio --table health --quasi birth_year,sex_code,department \
      --sensitive diagnosis --rules birth_year:age-band:10 --k 5 --l 2`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExportRequest(cmd.Context(), g, args[0], o.table, o.quasi, o.sensitive, o.rules, o.k, o.l, o.t, o.maxSupp)
		},
	}
	f := req.Flags()
	f.StringVar(&o.table, "table", "health", "table to export (health)")
	f.StringVar(&o.quasi, "quasi", "", "quasi-identifier columns (default: the dictionary's)")
	f.StringVar(&o.sensitive, "sensitive", "", "sensitive columns")
	f.StringVar(&o.rules, "rules", "", "generalization rules column:kind[:width], comma-separated")
	f.IntVar(&o.k, "k", 0, "k-anonymity (default config export.k)")
	f.IntVar(&o.l, "l", 0, "l-diversity (default config export.l)")
	f.Float64Var(&o.t, "t", 0, "t-closeness bound (0: not checked)")
	f.Float64Var(&o.maxSupp, "max-suppression", 0, "share of rows that may be suppressed (default config, 0.05)")
	c.AddCommand(req)
	var just string
	app := &cobra.Command{Use: "approve ID", Short: "approve an export (approver, not the requester; SEC-EXP-2)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExportDecide(cmd.Context(), g, args[0], true, just)
		}}
	app.Flags().StringVar(&just, "justification", "", "written justification, required to release a quarantined export after manual review (SEC-EXP-3)")
	c.AddCommand(app)
	c.AddCommand(&cobra.Command{Use: "reject ID", Short: "reject an export (approver)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExportDecide(cmd.Context(), g, args[0], false, "")
		}})
	var out string
	fetch := &cobra.Command{Use: "fetch ID --out DIR", Short: "write an approved export (data + report) to DIR (curator)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runExportFetch(cmd.Context(), g, args[0], out) }}
	fetch.Flags().StringVar(&out, "out", "", "output folder")
	c.AddCommand(fetch)
	return c
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

func runExportRequest(ctx context.Context, g *globals, project, table, quasi, sensitive, rules string, k, l int, t, maxSupp float64) error {
	if err := g.requireProfile(keys.ProfileCurator); err != nil {
		return err
	}
	if !keys.ValidProject(project) {
		return usageErr("project must be 1-64 of a-z, 0-9, '-', '_'")
	}
	if table != "health" && table != "records" && table != "genetic" {
		return usageErr("--table is health (warehouse records), or records / genetic (the PROJECT workspace's tables)")
	}
	req := export.Request{QuasiIdentifiers: splitList(quasi), Sensitive: splitList(sensitive), PersonColumn: "pseudonym",
		K: k, L: l, T: t, MaxSuppression: maxSupp}
	if len(req.QuasiIdentifiers) == 0 {
		req.QuasiIdentifiers = st.dict.QuasiIdentifiers()
	}
	if req.K == 0 {
		req.K = st.cfg.Export.K
	}
	if req.L == 0 {
		req.L = st.cfg.Export.L
	}
	if req.MaxSuppression == 0 {
		req.MaxSuppression = st.cfg.Export.MaxSuppression
	}
	for _, r := range splitList(rules) {
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
	rep, err := export.Check(ctx, src, req)
	if err != nil {
		if errors.Is(err, export.ErrRequest) {
			return usageErr("%v", err)
		}
		return err
	}
	id := warehouse.NewID(time.Now())
	rec := exportRecord{ID: id, Project: project, Table: table, Requester: sess.operator, Created: time.Now().UTC(), Pass: rep.Pass, Status: "pending-approval"}
	root := "exports/" + id + "/"
	if !rep.Pass {
		rec.Status, root = "quarantined", "quarantine/"+id+"/"
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
	if err := warehouse.WriteJSON(ctx, sess.st, root+"report.json", rep); err != nil {
		return err
	}
	var html bytes.Buffer
	export.WriteHTML(&html, rep)
	hw, err := sess.st.Create(ctx, root+"report.html")
	if err != nil {
		return err
	}
	hw.Write(html.Bytes())
	if err := hw.Close(); err != nil {
		return err
	}
	if err := warehouse.WriteJSON(ctx, sess.st, root+"request.json", rec); err != nil {
		return err
	}
	target := map[string]string{"export": id, "project": project}
	counts := map[string]int64{"rows": rep.Rows, "persons": rep.Persons, "classes": rep.Classes, "smallest_class": rep.SmallestClass, "suppressed": rep.Suppressed}
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
		json.NewEncoder(g.stdout).Encode(map[string]any{"id": id, "status": rec.Status, "report": rep})
	} else {
		fmt.Fprintf(g.stdout, "export %s: %s\n", id, rec.Status)
		fmt.Fprintf(g.stdout, "  rows %d, persons %d, classes %d, smallest class %d (k=%d), suppressed %d\n", rep.Rows, rep.Persons, rep.Classes, rep.SmallestClass, req.K, rep.Suppressed)
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

// findExport locates an export's record in exports/ or quarantine/.
func findExport(ctx context.Context, s objstore.Store, id string) (string, exportRecord, error) {
	var rec exportRecord
	if !keys.ValidProject(strings.ToLower(strings.ReplaceAll(id, "T", "t"))) && strings.ContainsAny(id, "/.") {
		return "", rec, usageErr("bad export id")
	}
	for _, root := range []string{"exports/" + id + "/", "quarantine/" + id + "/"} {
		if err := warehouse.ReadJSON(ctx, s, root+"request.json", 1<<20, &rec); err == nil {
			return root, rec, nil
		}
	}
	return "", rec, fmt.Errorf("no export %s", id)
}

func runExportDecide(ctx context.Context, g *globals, id string, approve bool, justification string) error {
	if err := g.requireProfile(keys.ProfileApprover); err != nil {
		return err
	}
	sess, err := g.open(ctx, "export decide")
	if err != nil {
		return err
	}
	defer sess.close(ctx)
	root, rec, err := findExport(ctx, sess.st, id)
	if err != nil {
		return err
	}
	target := map[string]string{"export": id, "project": rec.Project}
	action := "export.reject"
	if approve {
		action = "export.approve"
	}
	if rec.Requester == sess.operator {
		return sess.deny(ctx, action, target, &exitError{code: exitFailure, err: errors.New("the requester may not approve their own export (SEC-EXP-2)")})
	}
	if rec.Status == "approved" || rec.Status == "rejected" {
		return fmt.Errorf("export %s is already %s", id, rec.Status)
	}
	if approve && rec.Status == "quarantined" && strings.TrimSpace(justification) == "" {
		return sess.deny(ctx, action, target, usageErr("export %s is quarantined: releasing it needs a manual review and --justification (SEC-EXP-3)", id))
	}
	rec.Approver, rec.Decided, rec.Justification = sess.operator, time.Now().UTC(), justification
	rec.Status = "rejected"
	if approve {
		rec.Status = "approved"
	}
	if err := warehouse.WriteJSON(ctx, sess.st, root+"request.json", rec); err != nil {
		return err
	}
	reason := ""
	if justification != "" {
		reason = "released after manual review"
	}
	if err := sess.event(ctx, "", action, "ok", target, nil, reason); err != nil {
		return err
	}
	return g.result(map[string]any{"export": id, "status": rec.Status}, "export %s %s\n", id, rec.Status)
}

func runExportFetch(ctx context.Context, g *globals, id, out string) error {
	if out == "" {
		return usageErr("--out DIR is required")
	}
	if err := g.requireProfile(keys.ProfileCurator); err != nil {
		return err
	}
	sess, err := g.open(ctx, "export fetch")
	if err != nil {
		return err
	}
	defer sess.close(ctx)
	root, rec, err := findExport(ctx, sess.st, id)
	if err != nil {
		return err
	}
	target := map[string]string{"export": id, "project": rec.Project}
	if rec.Status != "approved" {
		return sess.deny(ctx, "export.fetch", target, &exitError{code: exitFailure, err: fmt.Errorf("export %s is %s: only approved exports can be fetched (SEC-EXP-2)", id, rec.Status)})
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
	var header []string
	n := 0
	cols, err := warehouse.ReadTable(data, func(m map[string]string) error {
		if header == nil {
			return nil
		}
		return nil
	})
	if err != nil {
		cf.Close()
		return err
	}
	header = cols
	cw.Write(header)
	warehouse.ReadTable(data, func(m map[string]string) error {
		row := make([]string, len(header))
		for i, c := range header {
			row[i] = m[c]
		}
		n++
		return cw.Write(row)
	})
	cw.Flush()
	cf.Close()
	for _, f := range []string{"report.json", "report.html"} {
		r, err := sess.st.Open(ctx, root+f)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		b.ReadFrom(r)
		r.Close()
		os.WriteFile(filepath.Join(out, f), b.Bytes(), 0o600)
	}
	if err := sess.event(ctx, "", "export.fetch", "ok", target, map[string]int64{"rows": int64(n)}, ""); err != nil {
		return err
	}
	return g.result(map[string]any{"export": id, "rows": n, "out": out, "files": []string{"data.parquet", "data.csv", "report.json", "report.html"}},
		"export %s: %d rows written to %s (data.parquet, data.csv, report.json, report.html)\n", id, n, out)
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

func (w *wsSource) Columns() []string { return w.cols }
func (w *wsSource) Rows(ctx context.Context, fn func(map[string]string) error) error {
	m := map[string]string{}
	_, err := tables.ScanBytes(ctx, w.data, tables.Query{Key: w.key}, func(r *tables.Row) error { return fn(r.Map(m)) })
	return err
}
