package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"hdw/audit"
	"hdw/keys"
	"hdw/objstore"
)

func newAuditCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "audit", Short: "verify and review the audit trail (SEC-DAY-1..4)"}
	var witness []string
	ver := &cobra.Command{
		Use:   "verify [--witness FILE]...",
		Short: "recompute every hash chain and seal, the Merkle tree against every checkpoint; report the first bad event or the contradicted checkpoint",
		Long: `Verify recomputes every hash chain and seal of the trail, then the RFC 6962
tree of its objects against every checkpoint stored under audit/checkpoints/
and every witnessed checkpoint given with --witness (a note printed by
"hdw audit checkpoint" and kept outside the warehouse): a signature that
does not verify with the checkpoint key, a tree smaller than a checkpoint
(a truncated tail) or a different root (a rewrite, naming the first changed
object) fails, as do two checkpoints that are not consistent. Verification
needs no decryption key.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAuditVerify(cmd.Context(), g, witness)
		},
	}
	ver.Flags().StringArrayVar(&witness, "witness", nil, "a witnessed checkpoint note (file); repeatable")
	c.AddCommand(ver)
	c.AddCommand(&cobra.Command{
		Use:   "checkpoint",
		Short: "sign the audit log's tree with the admin's checkpoint key and print the checkpoint for a witness",
		Long: `Checkpoint (admin) computes the RFC 6962 Merkle tree of the closed prefix
of the audit trail (every head and segment object, ciphertext as stored),
signs its size and root hash with the audit checkpoint key, which only the
admin holds (C2SP signed note, as the Go checksum database), stores it under
audit/checkpoints/ and prints it. Hand the printed note to a witness (a
second bucket with Object Lock, a file the DPO keeps, a ticket): a later
"hdw audit verify --witness FILE" shows any truncation or rewrite of what it
covers. The first checkpoint also chains a trail written before (issue 22
migration) into the log.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAuditCheckpoint(cmd.Context(), g)
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

func runAuditCheckpoint(ctx context.Context, g *globals) error {
	return g.withMAC(ctx, "audit checkpoint", []string{keys.ProfileAdmin}, func(sess *session, mac audit.MAC) error {
		seed, err := secretOrCreate(ctx, sess.prov, keys.CheckpointKey) // created now on a warehouse older than issue 22
		if err != nil {
			return fmt.Errorf("audit checkpoint key: %w", err)
		}
		defer seed.Wipe()
		signer, vkey, err := audit.CheckpointSigner(audit.CheckpointName(sess.wh.Desc.ID), seed.Bytes())
		if err != nil {
			return err
		}
		cp, err := audit.WriteCheckpoint(ctx, sess.st, mac, signer, vkey, time.Now())
		if err != nil {
			return err
		}
		if err := sess.event(ctx, "", "audit.checkpoint", "ok", nil, map[string]int64{"size": int64(cp.Size)}, ""); err != nil {
			return err
		}
		if g.json {
			return json.NewEncoder(g.stdout).Encode(map[string]any{"size": cp.Size, "note": string(cp.Note), "verifier_key": vkey})
		}
		g.stdout.Write(cp.Note)
		if g.verbose {
			fmt.Fprintf(g.stderr, "hdw: checkpoint verifier key: %s\n", vkey)
		}
		return nil
	})
}

func runAuditVerify(ctx context.Context, g *globals, witness []string) error {
	return g.withMAC(ctx, "audit verify", []string{keys.ProfileAdmin, keys.ProfileDPO, keys.ProfileApprover, keys.ProfileCurator, keys.ProfileIngest}, func(sess *session, mac audit.MAC) error {
		rep, _, err := audit.VerifySigned(ctx, sess.st, mac, nil, operatorDirectory(sess.prov))
		if err != nil {
			return err
		}
		var notes [][]byte
		for _, f := range witness {
			b, err := readWitness(f)
			if err != nil {
				return usageErr("--witness %s: %v", f, err)
			}
			notes = append(notes, b)
		}
		v, err := audit.CheckpointVerifier(ctx, sess.st)
		switch {
		case err == nil:
			probs, good, err := audit.VerifyCheckpoints(ctx, sess.st, mac, v, notes)
			if err != nil {
				return err
			}
			rep.Checkpoints = len(good)
			if len(probs) > 0 {
				rep.Problems = append(rep.Problems, probs...)
				rep.OK = false
				if rep.First == nil {
					rep.First = &rep.Problems[0]
				}
			}
		case errors.Is(err, objstore.ErrNotExist) && len(notes) > 0:
			// Witnessed checkpoints but no checkpoint key: deleted with the log.
			rep.Problems = append(rep.Problems, audit.Problem{Segment: "witness:1", File: audit.CheckpointKeyObject, Kind: audit.KindTruncatedTail,
				Detail: "a witness holds a checkpoint but the warehouse has no checkpoint key any more: the log's checkpoints were deleted"})
			rep.OK = false
			if rep.First == nil {
				rep.First = &rep.Problems[0]
			}
		case errors.Is(err, objstore.ErrNotExist):
		default:
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
				fmt.Fprintf(g.stdout, "  ok: every chain and seal verifies; %d checkpoints hold\n", rep.Checkpoints)
			}
		}
		if !rep.OK {
			return &exitError{code: exitFailure, err: fmt.Errorf("audit trail: %s in %s line %d: %s", rep.First.Kind, rep.First.File, rep.First.Line, rep.First.Detail)}
		}
		return nil
	})
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
	return g.withMAC(ctx, "audit review", nil, func(sess *session, mac audit.MAC) error {
		rules := audit.ReviewRules{Location: time.Local}
		if a, b, ok := strings.Cut(g.cfg.Audit.WorkHours, "-"); ok {
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
	})
}

// readWitness reads a witnessed checkpoint note (bounded).
func readWitness(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, 64<<10))
}
