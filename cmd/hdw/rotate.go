package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"hdw/keys"
	"hdw/rotation"
)

// withRotatePseudo makes "hdw keys rotate pseudo" the pseudonym-key
// rotation (issue 22; package rotation), with its --workspaces flag; any
// other key goes on to the store-key rotation.
func withRotatePseudo(g *globals, rot *cobra.Command) {
	var rekey bool
	rot.Use = "rotate health|identity|genetic|ws:PROJECT|pseudo"
	rot.Long = strings.TrimSpace(strings.Replace(rot.Long, "Pseudonym keys are not rotated here: see docs/keys.md (re-pseudonymization).", "", 1)) + `

"pseudo" rotates the warehouse pseudonym key, a re-pseudonymization in three
runs (docs/keys.md): the admin adds a key version; the dpo moves every
pseudonym to it (new = HMAC(new version, old)), writes the old-to-new map
on the identity side and rewrites the identity and health stores (images
included), resumably; the curator then re-joins the genetic store. With
--workspaces the dpo's run also re-keys the workspaces. Once every batch
is at version N, the admin's --min-version N retires the older versions.`
	rot.Flags().BoolVar(&rekey, "workspaces", false, "pseudo: also re-key the workspaces (dpo)")
	next := rot.RunE
	rot.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) != 1 || args[0] != "pseudo" {
			return next(cmd, args)
		}
		minVersion, _ := cmd.Flags().GetInt("min-version")
		return runRotatePseudo(cmd.Context(), g, minVersion, rekey)
	}
}

func runRotatePseudo(ctx context.Context, g *globals, minVersion int, rekey bool) error {
	return g.within(ctx, "keys rotate pseudo", []string{keys.ProfileAdmin, keys.ProfileDPO, keys.ProfileCurator}, func(sess *session) error {
		target := map[string]string{"key": keys.PseudoWarehouse}
		prof := sess.prov.Profile()
		if prof != keys.ProfileAdmin && minVersion > 0 {
			return usageErr("--min-version is the admin's (it retires key versions)")
		}
		if prof == keys.ProfileAdmin {
			return adminRotatePseudo(ctx, g, sess, target, minVersion)
		}
		pol, _, err := sess.effectivePolicy(ctx)
		if err != nil {
			return err
		}
		opt := rotation.Options{MapMonths: pol.Retention.MapMonths(), RekeyWorkspaces: rekey,
			Event: func(ctx context.Context, action string, t map[string]string, counts map[string]int64) {
				sess.event(ctx, "", action, "ok", t, counts, "")
			}}
		if prof == keys.ProfileDPO {
			opt.Workspaces = sess.workspaceIndex()
			if gone, err := rotation.ExpireMaps(ctx, sess.st, nowUTC()); err != nil {
				return err
			} else if len(gone) > 0 {
				sess.event(ctx, "", "keys.rotate_pseudo.map_expired", "ok", target, map[string]int64{"maps": int64(len(gone))}, "")
			}
		} else if rekey {
			return usageErr("--workspaces is the dpo's run")
		}
		res, err := rotation.Run(ctx, sess.wh, sess.prov, opt)
		if errors.Is(err, keys.ErrForbidden) {
			return sess.deny(ctx, "keys.rotate_pseudo", target, err)
		}
		counts := map[string]int64{"version": int64(res.To), "batches": res.Batches, "rows": res.Rows, "images": res.Images,
			"map_rows": res.MapRows, "workspaces": res.Workspaces, "workspaces_behind": res.WorkspacesBehind}
		for s, n := range res.Pending {
			counts["pending_"+s] = n
		}
		if err != nil {
			sess.event(ctx, "", "keys.rotate_pseudo", "failed", target, counts, "interrupted: rerun the same command to resume")
			return fmt.Errorf("pseudonym-key rotation interrupted (rerun to resume): %w", err)
		}
		sess.event(ctx, "", "keys.rotate_pseudo", "ok", target, counts, "")
		if g.json {
			return g.result(res, "")
		}
		fmt.Fprintf(g.stdout, "pseudonyms rotated: %d batches seen, %d rows and %d images rewritten, %d map pairs written\n", res.Batches, res.Rows, res.Images, res.MapRows)
		for s, n := range res.Pending {
			who := "dpo"
			if s == keys.Genetic {
				who = "curator"
			}
			fmt.Fprintf(g.stdout, "%s store: %d batches left for the %s: hdw --profile %s keys rotate pseudo\n", s, n, who, who)
		}
		if res.WorkspacesBehind > 0 {
			fmt.Fprintf(g.stdout, "%d workspaces keep the old pseudonyms (rights requests do not reach them until re-keyed: add --workspaces)\n", res.WorkspacesBehind)
		}
		return nil
	})
}

// adminRotatePseudo adds a version of the warehouse pseudonym key or, with
// minVersion, retires the older ones once every batch is at minVersion.
func adminRotatePseudo(ctx context.Context, g *globals, sess *session, target map[string]string, minVersion int) error {
	if minVersion == 0 {
		v, err := sess.prov.RotateKey(ctx, keys.PseudoWarehouse)
		if err != nil {
			return sess.deny(ctx, "keys.rotate_pseudo.version", target, err)
		}
		target["version"] = strconv.Itoa(v)
		sess.event(ctx, "", "keys.rotate_pseudo.version", "ok", target, nil, "")
		return g.result(map[string]any{"key": keys.PseudoWarehouse, "version": v},
			"%s at version %d; now hdw --profile dpo keys rotate pseudo, then hdw --profile curator keys rotate pseudo\n", keys.PseudoWarehouse, v)
	}
	commits, err := sess.wh.Commits(ctx)
	if err != nil {
		return err
	}
	behind := 0
	for _, c := range commits {
		for _, s := range []string{keys.Identity, keys.Health, keys.Genetic} {
			if c.PseudoVersion(s) < minVersion {
				behind++
			}
		}
	}
	if behind > 0 {
		return fmt.Errorf("%d stores of batches are not at version %d yet: run the dpo's and the curator's hdw keys rotate pseudo first", behind, minVersion)
	}
	r, ok := sess.prov.(keys.Versions)
	if !ok {
		return errors.New("this key provider cannot retire versions")
	}
	if err := r.RetireVersions(ctx, keys.PseudoWarehouse, minVersion); err != nil {
		return sess.deny(ctx, "keys.rotate_pseudo.retire", target, err)
	}
	target["min_version"] = strconv.Itoa(minVersion)
	sess.event(ctx, "", "keys.rotate_pseudo.retire", "ok", target, nil, "")
	return g.result(map[string]any{"key": keys.PseudoWarehouse, "min_version": minVersion}, "%s: versions below %d retired\n", keys.PseudoWarehouse, minVersion)
}
