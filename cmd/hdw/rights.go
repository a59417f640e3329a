package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"hdw/criteria"
	"hdw/keys"
	"hdw/objstore"
	"hdw/pseudo"
	"hdw/rights"
	"hdw/workspaces"
)

// The identity flags of the rights commands are the DPO's input: they are
// never echoed in output, logs, audit events or errors.
type subjectFlags struct {
	nir, last, first, birth, sex string
}

func (s *subjectFlags) register(c *cobra.Command) {
	f := c.Flags()
	f.StringVar(&s.nir, "nir", "", "the person's NIR (15 characters; spaces allowed)")
	f.StringVar(&s.last, "last-name", "", "last name (birth name preferred), with --first-name --birth-date --sex")
	f.StringVar(&s.first, "first-name", "", "first name")
	f.StringVar(&s.birth, "birth-date", "", "birth date YYYY-MM-DD")
	f.StringVar(&s.sex, "sex", "", "sex: M, F or U (also 1, 2, H)")
}

func (s *subjectFlags) subject() (rights.Subject, error) {
	sub := rights.Subject{NIR: s.nir, LastName: s.last, FirstName: s.first, BirthDate: s.birth, Sex: s.sex}
	names := s.last != "" || s.first != "" || s.birth != "" || s.sex != ""
	if s.nir == "" && !names {
		return sub, usageErr("give --nir, or --last-name --first-name --birth-date --sex")
	}
	if names && (s.last == "" || s.first == "" || s.birth == "" || s.sex == "") {
		return sub, usageErr("--last-name, --first-name, --birth-date and --sex go together")
	}
	return sub, nil
}

type rightsOpts struct {
	subj    subjectFlags
	request string
	out     string
	field   string
	value   string
}

func newRightsCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "rights",
		Short: "answer a person's request: find, access, erase, oppose, rectify (dpo)",
		Long: `Rights handles a person's request (CNIL 2021-118 §9, SEC-REI-1): hdw
recomputes the warehouse pseudonym from what the person provides (--nir, or
--last-name --first-name --birth-date --sex; accents and case do not matter)
and acts on every copy of their data: health, identity and genetic stores,
images and workspaces. Profile: dpo. --request REF is mandatory and is written
in the audit trail with every call; the identity flags never are.

  find     where the person's data is (records and images per batch,
           workspaces, exports built since); "not found" is an answer
  access   writes the person's package to --out DIR (Parquet + CSV, images,
           projects, summary.txt)
  erase    removes the person everywhere and records a deletion proof
  oppose   adds the person to the opposition registry (later ingests skip
           them), then erases them (9.4, 9.7)
  rectify  corrects an identifying field (--field F --value V); a corrected
           NIR re-pseudonymizes the person in every store
  restrict restricts the person's processing (GDPR art. 18): kept, but left
           out of new workspaces, exports and re-identifications
  lift     lifts a restriction

An erasure or opposition also cancels every export built since the person's
first ingest that was not released (pending, quarantined, approved and not
fetched, rejected): its data is deleted and the requester re-runs it.
Each workspace the person is erased from gets a deletion notice for its
researcher (the workspace pseudonyms to delete from pulled copies), and a
rectification that changes the pseudonym an old -> new workspace pseudonym
map; the researcher reads them with "hdw workspace notices PROJECT".
Opposition needs every identity the person may be uploaded under: with the
NIR, give the names, birth date and sex too when the warehouse no longer
holds them (after an erasure).

Each person resolved counts toward rights.max_reidentifications_per_day.`,
		Example: `  hdw --profile dpo rights find --request DPO-2026-001 --nir "2 62 04 75 011 123 45"
  hdw --profile dpo rights access --request DPO-2026-001 --last-name lefevre --first-name amelie --birth-date 1962-04-15 --sex F --out ./package
  hdw --profile dpo rights erase --request DPO-2026-002 --nir 262047501112345
  hdw --profile dpo rights rectify --request DPO-2026-003 --nir 262047501112345 --field phone --value 0600000000`,
	}
	for _, action := range []string{"find", "access", "erase", "oppose", "rectify", "restrict", "lift"} {
		var o rightsOpts
		sub := &cobra.Command{
			Use:   action + " --request REF (--nir N | --last-name L --first-name F --birth-date D --sex S)",
			Short: action + " a person's data (dpo)",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				return runRights(cmd.Context(), g, action, o)
			},
		}
		o.subj.register(sub)
		f := sub.Flags()
		f.StringVar(&o.request, "request", "", "request reference (mandatory; A-Z a-z 0-9 . _ - / :)")
		switch action {
		case "access":
			f.StringVar(&o.out, "out", "", "folder for the person's package (mandatory)")
		case "rectify":
			f.StringVar(&o.field, "field", "", "identifying column to correct (e.g. phone, address, nir)")
			f.StringVar(&o.value, "value", "", "corrected value (never echoed)")
		}
		c.AddCommand(sub)
	}
	c.AddCommand(newGeneticExtractCmd(g)) // curator's extract for an access covering genetic data (genetic.go)
	return c
}

// withRights runs fn in the session of a rights command with the rights
// service (the sealed policy's limits, the workspaces and exports it
// reaches), auditing refusals.
func (g *globals) withRights(ctx context.Context, command, action, ref string, fn func(*session, *rights.Service) error) error {
	if g.profile == "" {
		return usageErr("no profile: pass --profile dpo or set HDW_PROFILE=dpo")
	}
	return g.within(ctx, command, nil, func(sess *session) error {
		desk, err := sess.exportDesk(ctx)
		if err != nil {
			return err
		}
		// SEC-REI-4: the rate limit is the sealed policy's; --config may only lower it.
		pol := desk.Policy
		svc, err := rights.New(sess.wh, sess.prov, rights.Options{
			Dict:          g.dict,
			Workspaces:    sess.workspaceIndex(),
			Exports:       exportIndex{sess: sess, desk: desk},
			MaxPerDay:     pol.Reidentification.MaxPerDay,
			MaxPerRequest: pol.Reidentification.MaxPerRequest,
			Operator:      sess.operator,
			Genetic:       sess.geneticTrust(command), // the genetic extract's ask and verification (genetic.go)
			Logger:        g.logger,
			Alert: func(ctx context.Context, a rights.Alert) {
				fmt.Fprintf(g.stderr, "hdw: ALERT: daily re-identification limit reached (%d of %d used, %d asked) by request %s; refused (SEC-REI-4)\n",
					a.Used, a.Limit, a.Asked, a.Request)
				sess.event(ctx, command, "rights.alert", "alert", map[string]string{"request": a.Request, "kind": a.Kind, "alert": "rate-limit"},
					map[string]int64{"used": int64(a.Used), "asked": int64(a.Asked), "limit": int64(a.Limit)}, "daily re-identification limit reached")
			},
		})
		if err != nil {
			return sess.deny(ctx, action, map[string]string{"request": ref}, &exitError{code: exitFailure, err: fmt.Errorf("profile %s: %w", g.profile, err)})
		}
		if !rights.ValidRef(ref) {
			return sess.deny(ctx, action, map[string]string{"request": "invalid"}, usageErr("%v", rights.ErrNoRequest))
		}
		return fn(sess, svc)
	})
}

// workspaceIndex returns the workspaces seen by the rights service.
func (s *session) workspaceIndex() rights.WorkspaceIndex { return workspaces.NewIndex(s.wh, s.prov) }

// rightsFailure audits a failed or refused call and returns the error.
func rightsFailure(ctx context.Context, sess *session, action string, target map[string]string, err error) error {
	if errors.Is(err, rights.ErrRateLimit) || errors.Is(err, rights.ErrNotDPO) || errors.Is(err, rights.ErrNoRequest) ||
		errors.Is(err, rights.ErrNoReason) || errors.Is(err, keys.ErrForbidden) || errors.Is(err, rights.ErrRestricted) {
		return sess.deny(ctx, action, target, &exitError{code: exitFailure, err: err})
	}
	sess.event(ctx, "", action, "failed", target, nil, "")
	if isInputError(err) {
		return &exitError{code: exitUsage, err: err}
	}
	return err
}

// isInputError reports whether err is about the DPO's input (exit 2).
// These errors never hold the value.
func isInputError(err error) bool {
	if criteria.IsError(err) {
		return true
	}
	for _, e := range []error{pseudo.ErrNIRLength, pseudo.ErrNIRFormat, pseudo.ErrNIRKey, pseudo.ErrMissingField,
		pseudo.ErrBirthDate, pseudo.ErrSex, rights.ErrField, rights.ErrAmbiguous, rights.ErrOpposeNames} {
		if errors.Is(err, e) {
			return true
		}
	}
	return strings.HasPrefix(err.Error(), "criteria: ")
}

func runRights(ctx context.Context, g *globals, action string, o rightsOpts) error {
	subj, err := o.subj.subject()
	if err != nil {
		return err
	}
	switch {
	case action == "access" && o.out == "":
		return usageErr("access needs --out DIR")
	case action == "rectify" && o.field == "":
		return usageErr("rectify needs --field NAME and --value V")
	}
	command := "rights"
	act := "rights." + action
	return g.withRights(ctx, command, act, o.request, func(sess *session, svc *rights.Service) error {
		req := rights.Request{Ref: o.request, Reason: action}
		target := map[string]string{"request": o.request}
		switch action {
		case "find":
			loc, err := svc.Find(ctx, req, subj)
			if err != nil {
				return rightsFailure(ctx, sess, act, target, err)
			}
			target["found"] = fmt.Sprint(loc.Found)
			if err := sess.event(ctx, command, act, "ok", target, map[string]int64{"records": int64(loc.Records), "images": int64(loc.Images),
				"genetic": int64(loc.Genetic), "identity": int64(loc.Identity), "workspaces": int64(len(loc.Workspaces)), "exports": int64(len(loc.Exports))}, ""); err != nil {
				return err
			}
			return printFind(g, loc)
		case "access":
			out, err := objstore.NewLocal(o.out)
			if err != nil {
				return fmt.Errorf("open --out folder: %w", err)
			}
			rep, err := svc.Access(ctx, req, subj, out)
			if err != nil {
				return rightsFailure(ctx, sess, act, target, err)
			}
			target["found"] = fmt.Sprint(rep.Found)
			if err := sess.event(ctx, command, act, "ok", target, map[string]int64{"records": int64(rep.Records), "images": int64(rep.Images),
				"genetic": int64(rep.Genetic), "identity": int64(rep.Identity), "files": int64(len(rep.Files))}, ""); err != nil {
				return err
			}
			if !rep.Found {
				return g.result(rep, "request %s: no data for this person in the warehouse; nothing written\n", rep.Request)
			}
			return g.result(rep, "request %s: package written to %s\n  identity %d, records %d, genetic %d, images %d, projects %d, files %d\n",
				rep.Request, o.out, rep.Identity, rep.Records, rep.Genetic, rep.Images, len(rep.Projects), len(rep.Files))
		case "erase", "oppose":
			var proof *rights.Proof
			if action == "erase" {
				proof, err = svc.Erase(ctx, req, subj)
			} else {
				proof, err = svc.Oppose(ctx, req, subj)
			}
			if err != nil {
				if proof != nil {
					target["proof"] = proof.ID
				}
				return rightsFailure(ctx, sess, act, target, err)
			}
			return auditProof(ctx, g, sess, command, act, target, proof)
		case "restrict", "lift":
			var rep *rights.RestrictReport
			if action == "restrict" {
				rep, err = svc.Restrict(ctx, req, subj)
			} else {
				rep, err = svc.Lift(ctx, req, subj)
			}
			if err != nil {
				return rightsFailure(ctx, sess, act, target, err)
			}
			target["entry"] = rep.ID
			target["found"] = fmt.Sprint(rep.Found)
			if err := sess.event(ctx, command, act, "ok", target, map[string]int64{"pseudonyms": int64(rep.Keys)}, ""); err != nil {
				return err
			}
			verb := "restricted (GDPR art. 18): kept, left out of new workspaces, exports and re-identifications until lifted"
			if action == "lift" {
				verb = "restriction lifted"
			}
			return g.result(rep, "request %s: %s (registry entry %s)\n", rep.Request, verb, rep.ID)
		case "rectify":
			rep, err := svc.Rectify(ctx, req, subj, o.field, o.value)
			if err != nil {
				return rightsFailure(ctx, sess, act, target, err)
			}
			target["field"] = rep.Field
			target["repseudonymized"] = fmt.Sprint(rep.Repseudonymized)
			counts := map[string]int64{"identity_rows": int64(rep.IdentityRows), "records": int64(rep.Records), "images": int64(rep.Images), "genetic": int64(rep.Genetic)}
			for p, n := range rep.Workspaces {
				counts["workspace:"+p] = int64(n)
			}
			if len(rep.WorkspaceMaps) > 0 {
				target["workspace_maps"] = noticeRefs(rep.WorkspaceMaps)
			}
			if err := sess.event(ctx, command, act, "ok", target, counts, ""); err != nil {
				return err
			}
			if !rep.Found {
				return g.result(rep, "request %s: no identity entry for this person; nothing changed\n", rep.Request)
			}
			if g.json {
				return writeJSON(g.stdout, rep)
			}
			fmt.Fprintf(g.stdout, "request %s: %s corrected in %d identity rows\n", rep.Request, rep.Field, rep.IdentityRows)
			if rep.Repseudonymized {
				fmt.Fprintf(g.stdout, "  pseudonym basis changed: re-pseudonymized %d records, %d images, %d genetic rows, %d workspaces\n",
					rep.Records, rep.Images, rep.Genetic, len(rep.Workspaces))
				for _, n := range rep.WorkspaceMaps {
					fmt.Fprintf(g.stdout, "  workspace %s: pseudonym map %s recorded for its researcher (%d pseudonyms; hdw workspace notices %s)\n",
						n.Project, n.ID, n.Pseudonyms, n.Project)
				}
			}
			return nil
		}
		return usageErr("unknown rights action %q", action)
	})
}

// noticeRefs is the audit form of workspace notices: project:id, comma-separated.
func noticeRefs(ns []rights.NoticeRef) string {
	out := make([]string, 0, len(ns))
	for _, n := range ns {
		out = append(out, n.Project+":"+n.ID)
	}
	return strings.Join(out, ",")
}

// auditProof records a deletion proof in the audit trail: its id, counts
// and the SHA-256 of the proof document, which seals it in the hash chain.
func auditProof(ctx context.Context, g *globals, sess *session, command, action string, target map[string]string, p *rights.Proof) error {
	doc, _ := json.Marshal(p)
	h := sha256.Sum256(doc)
	target["proof"] = p.ID
	target["proof_sha256"] = hex.EncodeToString(h[:])
	target["verified"] = fmt.Sprint(p.Verified)
	if len(p.OutOfScope) > 0 {
		ids := make([]string, 0, len(p.OutOfScope))
		for _, e := range p.OutOfScope {
			ids = append(ids, e.ID)
		}
		target["out_of_scope_exports"] = strings.Join(ids, ",")
	}
	if len(p.Cancelled) > 0 {
		ids := make([]string, 0, len(p.Cancelled))
		for _, e := range p.Cancelled {
			ids = append(ids, e.ID)
		}
		target["cancelled_exports"] = strings.Join(ids, ",")
	}
	if len(p.Notices) > 0 {
		target["workspace_notices"] = noticeRefs(p.Notices)
	}
	counts := map[string]int64{"objects": int64(len(p.Objects)), "opposition_entries": int64(p.OppositionEntries)}
	for k, v := range p.Counts {
		counts[k] = int64(v)
	}
	outcome := "ok"
	if !p.Verified {
		outcome = "partial"
	}
	if err := sess.event(ctx, command, action, outcome, target, counts, ""); err != nil {
		return err
	}
	if g.json {
		if err := writeJSON(g.stdout, p); err != nil {
			return err
		}
	} else {
		w := g.stdout
		fmt.Fprintf(w, "request %s: %s done, proof %s (rights/proofs/%s.json, sha256 %s)\n", p.Request, p.Kind, p.ID, p.ID, target["proof_sha256"])
		fmt.Fprintf(w, "  removed: records %d, identity %d, genetic %d, images %d, workspace rows %d (%d objects)\n",
			p.Counts["records"], p.Counts["identity"], p.Counts["genetic"], p.Counts["images"], p.Counts["workspace_rows"], len(p.Objects))
		if p.OppositionEntries > 0 {
			fmt.Fprintf(w, "  opposition registry: %d entries (later ingests skip this person)\n", p.OppositionEntries)
		}
		fmt.Fprintf(w, "  verified: %v (a new search finds nothing)\n", p.Verified)
		for _, e := range p.OutOfScope {
			fmt.Fprintf(w, "  out of scope: anonymous export %s released %s\n", e.ID, e.Built.Format("2006-01-02"))
		}
		for _, e := range p.Cancelled {
			fmt.Fprintf(w, "  cancelled: export %s (%s when erased; its data deleted, the request must be re-run)\n", e.ID, e.State)
		}
		for _, n := range p.Notices {
			fmt.Fprintf(w, "  workspace %s: notice %s tells its researcher to delete %d pseudonyms from pulled copies (hdw workspace notices %s)\n",
				n.Project, n.ID, n.Pseudonyms, n.Project)
		}
	}
	if !p.Verified {
		return &exitError{code: exitFailure, err: errors.New("erasure not verified: a search after it still finds data; rerun the command")}
	}
	return nil
}

func printFind(g *globals, loc *rights.Location) error {
	if g.json {
		return writeJSON(g.stdout, loc)
	}
	w := g.stdout
	if !loc.Found {
		fmt.Fprintf(w, "request %s: not found; the warehouse and its workspaces hold no data for this person\n", loc.Request)
		return nil
	}
	fmt.Fprintf(w, "request %s: found\n", loc.Request)
	for _, p := range loc.Pseudonyms {
		fmt.Fprintf(w, "  pseudonym  %s\n", p)
	}
	fmt.Fprintf(w, "  total      records %d, images %d, genetic %d, identity rows %d\n", loc.Records, loc.Images, loc.Genetic, loc.Identity)
	for _, b := range loc.Batches {
		fmt.Fprintf(w, "  batch      %s collected %s: records %d, images %d, genetic %d\n", b.Batch, b.Collected.Format("2006-01-02"), b.Records, b.Images, b.Genetic)
	}
	for _, ws := range loc.Workspaces {
		fmt.Fprintf(w, "  workspace  %s: %d rows\n", ws.Project, ws.Rows)
	}
	for _, e := range loc.Exports {
		state := e.State
		if state == "" {
			state = "unknown"
		}
		if e.Justified {
			state += ", justified release of a failed export"
		}
		scope := "anonymous; released, out of scope of erasure"
		if !e.Released() {
			scope = "not released: an erasure cancels it"
		}
		fmt.Fprintf(w, "  export     %s built %s: %s (%s)\n", e.ID, e.Built.Format("2006-01-02"), state, scope)
	}
	if loc.Ambiguous > 0 {
		fmt.Fprintf(w, "  ambiguous  %d identity rows under a name-only pseudonym shared with a homonym (left untouched; check with reidentify --pseudonym):\n", loc.Ambiguous)
		for _, p := range loc.AmbiguousPseudonyms {
			fmt.Fprintf(w, "             %s\n", p)
		}
	}
	return nil
}
