package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"hdw/keys"
	"hdw/pipeline"
	"hdw/workspaces"
)

func newMigrateCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "rewrite the warehouse's all-string tables with the dictionary's types (issue 17)",
		Long: `Migrate rewrites the tables written before issue 17 (every column a string,
in alphabetical order) with the data dictionary's types (INT64, DOUBLE, DATE32,
dictionary-encoded strings) and ingest's column order, each in place and
crash-safely (the old table or the new one, never a mix), and amends the commit
records; as curator it also rewrites the workspaces' tables typed, with Parquet
modular encryption, and re-seals their manifests. Old tables are read as they
are without it; migrate only makes them typed. It is resumable: a table already typed is left alone, so a cut run is
finished by running it again. Each store is rewritten under its own key
(SEC-LOG-4..6), so a profile migrates the stores it may open: run it as curator
(health, genetic) and as dpo (identity). Audited (warehouse.migrate).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runMigrate(cmd.Context(), g) },
	}
}

func runMigrate(ctx context.Context, g *globals) error {
	return g.within(ctx, "migrate", []string{keys.ProfileCurator, keys.ProfileDPO}, func(sess *session) error {
		rep, err := pipeline.Migrate(ctx, sess.wh, g.dict)
		var wsMigrated, wsTyped int
		if err == nil && g.profile == keys.ProfileCurator {
			// Workspaces: typed, modular-encrypted, manifests re-sealed.
			wsMigrated, wsTyped, err = workspaces.Migrate(ctx, sess.wh, sess.prov, g.dict)
		}
		counts := map[string]int64{"migrated": int64(rep.Migrated), "typed": int64(rep.Typed), "failed": int64(len(rep.Failed)),
			"batches_amended": int64(len(rep.Batches)), "workspace_tables_migrated": int64(wsMigrated), "workspace_tables_typed": int64(wsTyped)}
		var skipped []string
		for s, n := range rep.Skipped {
			counts["skipped_"+s] = int64(n)
			skipped = append(skipped, s)
		}
		sort.Strings(skipped)
		if err != nil {
			sess.event(ctx, "", "warehouse.migrate", "failed", nil, counts, "")
			return err
		}
		outcome := "ok"
		if len(rep.Failed) > 0 {
			outcome = "partial"
		}
		if err := sess.event(ctx, "", "warehouse.migrate", outcome, nil, counts, ""); err != nil {
			return err
		}
		if g.json {
			out := struct {
				*pipeline.MigrateReport
				WorkspaceMigrated int `json:"workspace_tables_migrated"`
				WorkspaceTyped    int `json:"workspace_tables_typed"`
			}{rep, wsMigrated, wsTyped}
			if err := writeJSON(g.stdout, out); err != nil {
				return err
			}
		} else {
			w := g.stdout
			fmt.Fprintf(w, "migrate: %d tables rewritten typed, %d already typed, %d batches' commit records amended\n", rep.Migrated, rep.Typed, len(rep.Batches))
			if g.profile == keys.ProfileCurator {
				fmt.Fprintf(w, "  workspaces: %d tables rewritten typed with modular encryption (manifests re-sealed), %d already\n", wsMigrated, wsTyped)
			}
			if len(skipped) > 0 {
				fmt.Fprintf(w, "  skipped (this profile may not open them; run migrate under the store's profile): %s\n", strings.Join(skipped, ", "))
			}
			for _, f := range rep.Failed {
				fmt.Fprintf(w, "  left as it was: %s\n", f)
			}
		}
		if len(rep.Failed) > 0 {
			return &exitError{code: exitFailure, err: fmt.Errorf("%d tables could not be migrated (listed above); they are still read as they are", len(rep.Failed))}
		}
		return nil
	})
}
