package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"hdw/keys"
	"hdw/rights"
	"hdw/workspaces"
)

func newWorkspaceCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "workspace", Short: "sealed per-project workspaces for researchers (SEC-ESP-1..3)"}
	var o struct{ approval, columns, where, cohort, expires string }
	create := &cobra.Command{
		Use:   "create PROJECT --approval REF --columns a,b",
		Short: "build a minimized, re-keyed, re-pseudonymized copy for a project (curator)",
		Long: `Create records the committee's approval reference (CNIL 3.2.3.1: no project
without it), copies only the selected --columns (health, derived, free-text or
genetic columns of the data dictionary; identifying columns are refused) of
the patients matching --where (a CEL criterion over the health and derived
columns, type-checked against the dictionary, e.g. "modality == 'CT' &&
birth_year < 1970"; the older "modality = 'CT' and ..." is translated), with their
images, re-encrypted under the project's own key, with the project's own
pseudonyms (or the --cohort's, shared by the workspaces of a cohort,
SEC-ESP-3). With the embedded keyring it creates the researcher:PROJECT
profile and writes its passphrase to the credentials folder.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWorkspaceCreate(cmd.Context(), g, args[0], o.approval, o.columns, o.where, o.cohort, o.expires)
		},
	}
	f := create.Flags()
	f.StringVar(&o.approval, "approval", "", "reference of the committee's opinion (required)")
	f.StringVar(&o.columns, "columns", "", "columns to copy, comma-separated")
	f.StringVar(&o.where, "where", "", "cohort filter over health columns")
	f.StringVar(&o.cohort, "cohort", "", "share pseudonyms with the other workspaces of this cohort")
	f.StringVar(&o.expires, "expires", "", "end of the project YYYY-MM-DD (default: one year)")
	c.AddCommand(create)
	var out string
	pull := &cobra.Command{Use: "pull PROJECT --out DIR", Short: "write the decrypted workspace to DIR (researcher:PROJECT)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runWorkspacePull(cmd.Context(), g, args[0], out) }}
	pull.Flags().StringVar(&out, "out", "", "output folder")
	c.AddCommand(pull)
	c.AddCommand(&cobra.Command{Use: "list", Short: "list workspaces: project, approval, expiry, size, patients", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runWorkspaceList(cmd.Context(), g, false) }})
	c.AddCommand(&cobra.Command{Use: "review", Short: "list workspaces due for the yearly access review or past their end (SEC-HAB-5)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runWorkspaceList(cmd.Context(), g, true) }})
	c.AddCommand(&cobra.Command{Use: "revoke PROJECT", Short: "destroy the workspace keys and data (SEC-HAB-6)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runWorkspaceRevoke(cmd.Context(), g, args[0]) }})
	c.AddCommand(&cobra.Command{Use: "refresh PROJECT", Short: "add rows ingested since creation that match the filter, keeping pseudonyms (curator)", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runWorkspaceRefresh(cmd.Context(), g, args[0]) }})
	c.AddCommand(&cobra.Command{Use: "verify PROJECT", Short: "check every workspace file against the signed manifest", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runWorkspaceVerify(cmd.Context(), g, args[0]) }})
	c.AddCommand(&cobra.Command{Use: "notices PROJECT", Short: "what erasures and rectifications ask of copies already pulled (researcher:PROJECT, curator, dpo)",
		Long: `Notices lists what the data protection officer's acts ask of the copies of
the workspace pulled before them (issue 21): after an erasure or an
opposition, the workspace pseudonyms whose rows must be deleted from every
pulled copy; after a rectification that changed a person's pseudonym, the
old -> new workspace pseudonym map to apply to every pulled copy. A new pull
already reflects them. Notices are encrypted under the workspace key and
name persons by workspace pseudonyms only.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return runWorkspaceNotices(cmd.Context(), g, args[0]) }})
	return c
}

// runWorkspaceNotices prints the workspace's notices (issue 21), audited.
func runWorkspaceNotices(ctx context.Context, g *globals, project string) error {
	return g.within(ctx, "workspace notices", []string{"researcher:*", keys.ProfileCurator, keys.ProfileDPO}, func(sess *session) error {
		target := map[string]string{"project": project}
		if strings.HasPrefix(g.profile, "researcher:") && g.profile != keys.Researcher(project) {
			return sess.deny(ctx, "workspace.notices", target, &exitError{code: exitFailure, err: fmt.Errorf("profile %s may not read the notices of workspace %s (SEC-ESP-1)", g.profile, project)})
		}
		ns, err := workspaces.Notices(ctx, sess.wh, project)
		if err != nil {
			if errors.Is(err, keys.ErrForbidden) {
				return sess.deny(ctx, "workspace.notices", target, &exitError{code: exitFailure, err: err})
			}
			sess.event(ctx, "", "workspace.notices", "failed", target, nil, "")
			return err
		}
		if err := sess.event(ctx, "", "workspace.notices", "ok", target, map[string]int64{"notices": int64(len(ns))}, ""); err != nil {
			return err
		}
		if g.json {
			return writeJSON(g.stdout, map[string]any{"workspace": project, "notices": orEmpty(ns)})
		}
		printNotices(g, project, ns, true)
		return nil
	})
}

// printNotices writes the notices; with all, every pseudonym too.
func printNotices(g *globals, project string, ns []workspaces.Notice, all bool) {
	w := g.stdout
	if len(ns) == 0 {
		if all {
			fmt.Fprintf(w, "workspace %s: no notices\n", project)
		}
		return
	}
	fmt.Fprintf(w, "workspace %s: %d notices for copies pulled before them (a new pull already reflects them)\n", project, len(ns))
	for _, n := range ns {
		switch {
		case len(n.Delete) > 0:
			fmt.Fprintf(w, "  %s %s %s (request %s): delete the rows of %d pseudonyms from every pulled copy\n", n.ID, n.Time.Format("2006-01-02"), n.Kind, n.Request, len(n.Delete))
			if all {
				for _, p := range n.Delete {
					fmt.Fprintf(w, "    delete %s\n", p)
				}
			}
		default:
			fmt.Fprintf(w, "  %s %s %s (request %s): replace %d pseudonyms in every pulled copy\n", n.ID, n.Time.Format("2006-01-02"), n.Kind, n.Request, len(n.Renames))
			if all {
				olds := make([]string, 0, len(n.Renames))
				for o := range n.Renames {
					olds = append(olds, o)
				}
				sort.Strings(olds)
				for _, o := range olds {
					fmt.Fprintf(w, "    %s -> %s\n", o, n.Renames[o])
				}
			}
		}
	}
	if !all {
		fmt.Fprintf(w, "  details: hdw --profile %s workspace notices %s\n", g.profile, project)
	}
}

type profileAdder interface {
	AddProfile(ctx context.Context, profile string, passphrase []byte) error
}

func runWorkspaceCreate(ctx context.Context, g *globals, project, approval, columns, where, cohort, expires string) error {
	if err := g.requireProfile(keys.ProfileCurator); err != nil {
		return err
	}
	var exp time.Time
	if expires != "" {
		t, err := time.Parse("2006-01-02", expires)
		if err != nil {
			return usageErr("--expires must be YYYY-MM-DD")
		}
		exp = t
	}
	return g.within(ctx, "workspace create", nil, func(sess *session) error {
		target := map[string]string{"project": project, "approval": approval}
		// GDPR art. 18: restricted persons are left out of new workspaces (issue 21).
		restricted, err := rights.Restricted(ctx, sess.wh)
		if err != nil {
			return fmt.Errorf("read the restriction registry: %w", err)
		}
		d, err := workspaces.Create(ctx, sess.wh, sess.prov, workspaces.Spec{Project: project, Approval: approval, Where: where, Cohort: cohort,
			Curator: sess.operator, Columns: splitList(columns), Expires: exp, Dict: g.dict, Exclude: restricted})
		if err != nil {
			if errors.Is(err, workspaces.ErrNoApproval) || errors.Is(err, workspaces.ErrColumn) || strings.Contains(err.Error(), "--where") {
				return sess.deny(ctx, "workspace.create", target, usageErr("%v", err))
			}
			sess.event(ctx, "", "workspace.create", "failed", target, nil, "")
			return err
		}
		note := ""
		if a, ok := sess.prov.(profileAdder); ok {
			file := filepath.Join(g.credentialsDir(), profileFile(keys.Researcher(project)))
			os.MkdirAll(g.credentialsDir(), 0o700)
			os.Remove(file)
			pass, err := writePassphrase(file)
			if err != nil {
				return err
			}
			err = a.AddProfile(ctx, keys.Researcher(project), pass)
			clear(pass)
			if err != nil {
				return fmt.Errorf("create researcher profile: %w", err)
			}
			note = "researcher:" + project + " passphrase in " + file
		} else {
			note = "Vault: the administrator creates the researcher AppRole (hdw vault setup writes the policy template)"
		}
		if err := sess.event(ctx, "", "workspace.create", "ok", target, map[string]int64{"patients": int64(d.Patients), "rows": int64(d.Rows), "images": int64(d.Images)}, ""); err != nil {
			return err
		}
		if g.json {
			return json.NewEncoder(g.stdout).Encode(d)
		}
		fmt.Fprintf(g.stdout, "workspace %s: %d patients, %d rows, %d images, expires %s\n  %s\n", project, d.Patients, d.Rows, d.Images, d.Expires.Format("2006-01-02"), note)
		return nil
	})
}

func runWorkspacePull(ctx context.Context, g *globals, project, out string) error {
	if out == "" {
		return usageErr("--out DIR is required")
	}
	return g.within(ctx, "workspace pull", []string{"researcher:*"}, func(sess *session) error {
		target := map[string]string{"project": project}
		if g.profile != keys.Researcher(project) {
			// SEC-DAY-1: the refusal is traced.
			return sess.deny(ctx, "workspace.pull", target, &exitError{code: exitFailure, err: fmt.Errorf("profile %s may not pull workspace %s (SEC-ESP-1)", g.profile, project)})
		}
		d, err := workspaces.Pull(ctx, sess.wh, project, out, time.Now().UTC())
		if err != nil {
			if errors.Is(err, keys.ErrForbidden) || errors.Is(err, workspaces.ErrExpired) || errors.Is(err, workspaces.ErrRevoked) {
				return sess.deny(ctx, "workspace.pull", target, &exitError{code: exitFailure, err: err})
			}
			sess.event(ctx, "", "workspace.pull", "failed", target, nil, "")
			return err
		}
		// SEC-DAY-1: every pull is traced.
		if err := sess.event(ctx, "", "workspace.pull", "ok", target, map[string]int64{"rows": int64(d.Rows), "images": int64(d.Images)}, ""); err != nil {
			return err
		}
		// Issue 21: the researcher sees what erasures and rectifications ask
		// of the copies pulled before.
		ns, err := workspaces.Notices(ctx, sess.wh, project)
		if err != nil {
			return fmt.Errorf("workspace %s pulled to %s, but its notices could not be read: %w", project, out, err)
		}
		if g.json {
			return writeJSON(g.stdout, map[string]any{"workspace": project, "out": out, "rows": d.Rows, "images": d.Images, "notices": len(ns)})
		}
		fmt.Fprintf(g.stdout, "workspace %s pulled to %s: records.parquet, %d images\n", project, out, d.Images)
		printNotices(g, project, ns, false)
		return nil
	})
}

func runWorkspaceList(ctx context.Context, g *globals, due bool) error {
	return g.within(ctx, "workspace list", []string{keys.ProfileCurator, keys.ProfileAdmin, keys.ProfileDPO}, func(sess *session) error {
		ds, err := workspaces.List(ctx, sess.st)
		if err != nil {
			return err
		}
		action := "workspace.list"
		if due {
			ds = workspaces.Due(ds, time.Now().UTC())
			action = "workspace.review"
		}
		sess.event(ctx, "", action, "ok", nil, map[string]int64{"workspaces": int64(len(ds))}, "")
		if g.json {
			return json.NewEncoder(g.stdout).Encode(ds)
		}
		for _, d := range ds {
			fmt.Fprintf(g.stdout, "%-20s %-8s approval %-16s expires %s  %d patients  %d rows  %s\n", d.Project, d.Status, d.Approval, d.Expires.Format("2006-01-02"), d.Patients, d.Rows, human(d.Bytes))
		}
		return nil
	})
}

func runWorkspaceRevoke(ctx context.Context, g *globals, project string) error {
	return g.within(ctx, "workspace revoke", []string{keys.ProfileCurator}, func(sess *session) error {
		if _, err := workspaces.Revoke(ctx, sess.wh, sess.prov, project, time.Now().UTC()); err != nil {
			return err
		}
		if r, ok := sess.prov.(interface {
			RemoveProfile(ctx context.Context, profile string) error
		}); ok {
			r.RemoveProfile(ctx, keys.Researcher(project))
		}
		// Revocation removes the researcher's credentials too (issue 23): the
		// passphrase file and any Vault AppRole files written for the profile.
		for _, f := range []string{profileFile(keys.Researcher(project)), filepath.Join("vault", profileFile(keys.Researcher(project))+".role-id"),
			filepath.Join("vault", profileFile(keys.Researcher(project))+".secret-id")} {
			if err := os.Remove(filepath.Join(g.credentialsDir(), f)); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("workspace %s revoked, but its credentials file could not be removed: %w", project, err)
			}
		}
		if err := sess.event(ctx, "", "workspace.revoke", "ok", map[string]string{"project": project}, nil, ""); err != nil {
			return err
		}
		return g.result(map[string]any{"workspace": project, "revoked": true, "credentials_removed": true},
			"workspace %s revoked: keys destroyed, data deleted, credentials removed\n", project)
	})
}

func runWorkspaceVerify(ctx context.Context, g *globals, project string) error {
	return g.within(ctx, "workspace verify", []string{keys.ProfileCurator}, func(sess *session) error {
		probs, err := workspaces.Verify(ctx, sess.wh, sess.prov, project)
		if err != nil {
			return err
		}
		outcome := "ok"
		if len(probs) > 0 {
			outcome = "alert"
		}
		sess.event(ctx, "", "workspace.verify", outcome, map[string]string{"project": project}, map[string]int64{"problems": int64(len(probs))}, "")
		if g.json {
			enc := json.NewEncoder(g.stdout)
			enc.Encode(map[string]any{"workspace": project, "ok": len(probs) == 0, "problems": probs})
		} else {
			for _, p := range probs {
				fmt.Fprintf(g.stdout, "  %s\n", p)
			}
		}
		if len(probs) > 0 {
			return &exitError{code: exitFailure, err: fmt.Errorf("workspace %s: %d files do not match the signed manifest", project, len(probs))}
		}
		if g.json {
			return nil
		}
		fmt.Fprintf(g.stdout, "workspace %s: every file matches the signed manifest\n", project)
		return nil
	})
}

func runWorkspaceRefresh(ctx context.Context, g *globals, project string) error {
	return g.within(ctx, "workspace refresh", []string{keys.ProfileCurator}, func(sess *session) error {
		restricted, err := rights.Restricted(ctx, sess.wh)
		if err != nil {
			return fmt.Errorf("read the restriction registry: %w", err)
		}
		d, added, err := workspaces.RefreshExcluding(ctx, sess.wh, sess.prov, project, g.dict, restricted)
		if err != nil {
			sess.event(ctx, "", "workspace.refresh", "failed", map[string]string{"project": project}, nil, "")
			return err
		}
		if err := sess.event(ctx, "", "workspace.refresh", "ok", map[string]string{"project": project}, map[string]int64{"added_rows": int64(added), "rows": int64(d.Rows)}, ""); err != nil {
			return err
		}
		return g.result(map[string]any{"workspace": project, "added_rows": added, "rows": d.Rows, "patients": d.Patients},
			"workspace %s: %d rows added, %d rows, %d patients\n", project, added, d.Rows, d.Patients)
	})
}
