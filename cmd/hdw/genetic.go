package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"hdw/keys"
	"hdw/rights"
)

// Genetic data in a right of access (issue 22 item 4, SEC-LOG-6): the
// DPO's rights access asks, a curator prepares the extract against the
// request (package rights, genetic.go). Both steps are audited with the
// request reference and counts only.

func newGeneticExtractCmd(g *globals) *cobra.Command {
	var ref string
	c := &cobra.Command{
		Use:   "genetic-extract [--request REF]",
		Short: "prepare the genetic extract a DPO's access request asked for (curator; SEC-LOG-6)",
		Long: `The dpo profile never holds the genetic key (SEC-LOG-6). When a right of
access covers a batch with genetic data, the DPO's rights access records an
ask against the request and stops. A curator (another person than the DPO)
then runs this command: without --request it lists the pending asks
(request, who asked, when); with --request REF it reads the genetic rows of
the person named in the ask (by warehouse pseudonym only), writes them as
an extract encrypted for the DPO (a data key wrapped by the health store
key, which the dpo profile unwraps), signs the extract record with the
curator's own operator key, and audits it (request and row count, no
identifier). The DPO runs rights access again: the package then holds
genetic.{parquet,csv}, and the extract is deleted once delivered.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGeneticExtract(cmd.Context(), g, ref)
		},
	}
	c.Flags().StringVar(&ref, "request", "", "the DPO's request reference the extract answers")
	return c
}

func runGeneticExtract(ctx context.Context, g *globals, ref string) error {
	return g.within(ctx, "rights genetic-extract", []string{keys.ProfileCurator}, func(sess *session) error {
		if ref == "" {
			asks, err := rights.PendingGeneticAsks(ctx, sess.st)
			if err != nil {
				return err
			}
			if g.json {
				return json.NewEncoder(g.stdout).Encode(orEmpty(asks))
			}
			for _, a := range asks {
				fmt.Fprintf(g.stdout, "%s  asked by %s  %s  %d batches\n", a.Request, a.AskedBy, a.Asked.UTC().Format(time.RFC3339), a.Batches)
			}
			return nil
		}
		target := map[string]string{"request": ref}
		e, err := rights.PrepareGeneticExtract(ctx, sess.wh, g.profile, sess.operator, ref, sess.geneticTrust(""), nowUTC())
		switch {
		case errors.Is(err, rights.ErrGeneticExtract):
			sess.event(ctx, "", "rights.genetic_extract", "alert", target, nil, "the DPO's ask does not verify")
			return &exitError{code: exitFailure, err: fmt.Errorf("ALERT: %w", err)}
		case errors.Is(err, keys.ErrForbidden):
			return sess.deny(ctx, "rights.genetic_extract", target, &exitError{code: exitFailure, err: err})
		case errors.Is(err, rights.ErrNoRequest):
			return usageErr("%v", err)
		case err != nil:
			sess.event(ctx, "", "rights.genetic_extract", "failed", target, nil, "")
			return err
		}
		if err := sess.event(ctx, "", "rights.genetic_extract", "ok", target, map[string]int64{"rows": int64(e.Rows)}, ""); err != nil {
			return err
		}
		if g.json {
			return json.NewEncoder(g.stdout).Encode(e)
		}
		fmt.Fprintf(g.stdout, "request %s: genetic extract prepared (%d rows) by %s; the DPO runs rights access again\n", ref, e.Rows, e.ExtractedBy)
		return nil
	})
}

// geneticTrust is who signs and verifies the genetic ask and extract: the
// session's operator and the operator directory; the DPO's ask is audited
// under command ("" for the session's).
func (s *session) geneticTrust(command string) rights.GeneticTrust {
	return rights.GeneticTrust{Signer: s.Signer(), Dir: directoryOf(s.prov),
		Asked: func(ctx context.Context, a rights.GeneticAsk) {
			s.event(ctx, command, "rights.genetic_ask", "ok", map[string]string{"request": a.Request}, map[string]int64{"batches": int64(a.Batches)}, "")
		}}
}
