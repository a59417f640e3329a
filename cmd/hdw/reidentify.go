package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"hdw/configs"
	"hdw/rights"
)

type reidentifyOpts struct {
	pseudonym string
	workspace string
	criteria  string
	request   string
	reason    string
	out       string
}

func newReidentifyCmd(g *globals) *cobra.Command {
	var o reidentifyOpts
	c := &cobra.Command{
		Use:   "reidentify (--pseudonym P [--workspace PROJECT] | --criteria EXPR) --request REF --reason emergency|recontact",
		Short: "lift a pseudonym in a medical emergency, or select persons to recontact (dpo)",
		Long: `Reidentify is reserved to the dpo profile (SEC-REI-4), needs a request
reference and a reason (SEC-REI-5), is audited with the request reference, and
counts every person toward rights.max_reidentifications_per_day: beyond it the
call is refused and an alert raised.

  --reason emergency --pseudonym P   the identity behind P (SEC-REI-3); a
                                      workspace pseudonym needs --workspace
  --reason recontact --criteria EXPR the contact details only of the persons
                                      whose health records match EXPR
                                      (SEC-REI-2), as CSV (--out FILE or stdout)

EXPR is CEL over the health and derived columns and collected, type-checked
against the data dictionary before anything runs, e.g.
  "diagnosis.startsWith('C50') && birth_year >= 1960"
  "modality in ['CT', 'MR'] && !(sex_code == 'M') && visit_date >= date('2020-01-01')"
(the older "diagnosis like 'C50%' and ..." syntax is translated).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runReidentify(cmd.Context(), g, o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.pseudonym, "pseudonym", "", "warehouse pseudonym (or workspace pseudonym with --workspace)")
	f.StringVar(&o.workspace, "workspace", "", "project whose workspace issued --pseudonym")
	f.StringVar(&o.criteria, "criteria", "", "medical criteria over health columns (recontact)")
	f.StringVar(&o.request, "request", "", "request reference (mandatory)")
	f.StringVar(&o.reason, "reason", "", "emergency or recontact (mandatory)")
	f.StringVar(&o.out, "out", "", "recontact: write the contact CSV to FILE (mode 0600) instead of stdout")
	return c
}

func runReidentify(ctx context.Context, g *globals, o reidentifyOpts) error {
	switch o.reason {
	case rights.ReasonEmergency:
		if o.pseudonym == "" || o.criteria != "" {
			return usageErr("--reason emergency needs --pseudonym P (and no --criteria)")
		}
	case rights.ReasonRecontact:
		if o.criteria == "" || o.pseudonym != "" {
			return usageErr("--reason recontact needs --criteria EXPR (and no --pseudonym)")
		}
	default:
		return usageErr("%v", rights.ErrNoReason)
	}
	act := "reidentify." + o.reason
	return g.withRights(ctx, "reidentify", act, o.request, func(sess *session, svc *rights.Service) error {
		req := rights.Request{Ref: o.request, Reason: o.reason}
		target := map[string]string{"request": o.request, "reason": o.reason}
		if o.workspace != "" {
			target["workspace"] = o.workspace
		}
		if o.reason == rights.ReasonEmergency {
			id, err := svc.Emergency(ctx, req, o.pseudonym, o.workspace)
			if errors.Is(err, rights.ErrNotFound) {
				sess.event(ctx, "", act, "not-found", target, nil, "")
				return &exitError{code: exitFailure, err: err}
			}
			if err != nil {
				return rightsFailure(ctx, sess, act, target, err)
			}
			if err := sess.event(ctx, "", act, "ok", target, map[string]int64{"persons": 1, "identity_rows": int64(id.Rows)}, "emergency"); err != nil {
				return err
			}
			if g.json {
				return writeJSON(g.stdout, id)
			}
			fmt.Fprintf(g.stdout, "request %s: identity for a medical emergency (SEC-REI-3); for this purpose only\n", o.request)
			for _, c := range g.dict.ByCategory(configs.CatIdentifying) {
				if v := id.Fields[c]; v != "" {
					fmt.Fprintf(g.stdout, "  %-12s %s\n", c, v)
				}
			}
			return nil
		}
		cs, err := svc.Recontact(ctx, req, o.criteria)
		if err != nil {
			return rightsFailure(ctx, sess, act, target, err)
		}
		if err := sess.event(ctx, "", act, "ok", target, map[string]int64{"persons": int64(len(cs))}, "recontact"); err != nil {
			return err
		}
		var w io.Writer = g.stdout
		if o.out != "" {
			f, err := os.OpenFile(o.out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				return fmt.Errorf("open --out file: %w", err)
			}
			defer f.Close()
			w = f
		}
		if g.json && o.out == "" {
			return writeJSON(w, cs)
		}
		cw := csv.NewWriter(w)
		cols := rights.ContactColumns()
		cw.Write(cols)
		for _, c := range cs {
			row := make([]string, len(cols))
			for i, k := range cols {
				row[i] = c[k]
			}
			cw.Write(row)
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		if o.out != "" {
			fmt.Fprintf(g.stderr, "hdw: %d persons to recontact written to %s (for this purpose only, SEC-REI-2)\n", len(cs), o.out)
		}
		return nil
	})
}
