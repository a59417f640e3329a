package rights

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"hdw/keys"
	"hdw/objstore"
	"hdw/warehouse"
)

// ErrOpposeNames means an opposition gave the NIR only and the warehouse
// holds no identity row giving the person's names: the names, birth date
// and sex are needed too, so that an upload without NIR is refused as well.
var ErrOpposeNames = errors.New("rights: opposition needs every identity the person may be uploaded under: give --last-name --first-name --birth-date --sex with the NIR")

// ProofPrefix is the folder of deletion proofs in the warehouse.
const ProofPrefix = "rights/proofs/"

// ObjectProof records what an erasure did to one stored object. Hashes are
// SHA-256 of the stored (encrypted) bytes, so anyone holding the store can
// check them without a key. Image keys are recorded without the pseudonym
// folder.
type ObjectProof struct {
	Key          string `json:"key"`
	Store        string `json:"store"`
	Action       string `json:"action"` // rewritten or deleted
	RowsRemoved  int    `json:"rows_removed,omitempty"`
	RowsLeft     int    `json:"rows_left,omitempty"`
	SHA256Before string `json:"sha256_before"`
	SizeBefore   int64  `json:"size_before"`
	SHA256After  string `json:"sha256_after,omitempty"`
	SizeAfter    int64  `json:"size_after,omitempty"`
}

// Proof is the deletion proof of an erasure, an opposition or a retention
// run. It holds no identity and no pseudonym; it is written under
// rights/proofs/<id>.json and returned for the audit trail.
type Proof struct {
	ID         string                  `json:"id"`
	Time       time.Time               `json:"time"`
	Request    string                  `json:"request"`
	Operator   string                  `json:"operator,omitempty"`
	Kind       string                  `json:"kind"` // erasure, opposition, retention
	Counts     map[string]int          `json:"counts"`
	Objects    []ObjectProof           `json:"objects"`
	Workspaces map[string]ObjectsProof `json:"workspaces,omitempty"`
	// OutOfScope lists the anonymous exports released after the person's
	// first ingest: they are anonymous (G29 criteria checked at release)
	// and cannot be traced back to the person, so they are not erased.
	OutOfScope []Export `json:"out_of_scope_exports,omitempty"`
	// Cancelled lists the exports built after the person's first ingest
	// that were not released (pending, quarantined, approved and not
	// fetched, rejected): their data is deleted and they are cancelled,
	// so that an approval after the erasure releases nothing of the person;
	// the requester re-runs the request.
	Cancelled []Export `json:"cancelled_exports,omitempty"`
	// Notices are the deletion notices recorded for the owners of the
	// workspaces the person was removed from (issue 21): each tells the
	// researcher which workspace pseudonyms to delete from pulled copies.
	Notices []NoticeRef `json:"workspace_notices,omitempty"`
	// AmendedCommits are the batches whose commit record was rewritten to
	// list what the batch holds after the erasure.
	AmendedCommits []string `json:"amended_commits,omitempty"`
	// Verified is true when a search after the erasure found nothing.
	Verified bool `json:"verified"`
	// OppositionEntries is the number of registry entries added (oppose).
	OppositionEntries int `json:"opposition_entries,omitempty"`
}

// Erase removes the person from the health, identity and genetic stores
// (rewriting each table without their rows, deleting their images) and
// from every workspace, then checks that nothing is left (9.2, SEC-REI-1).
// It returns the deletion proof, also written under rights/proofs/.
func (s *Service) Erase(ctx context.Context, req Request, subj Subject) (*Proof, error) {
	p, d, err := s.begin(ctx, req, subj, "erase")
	if err != nil {
		return nil, err
	}
	defer d.wipe()
	return s.erase(ctx, req, "erasure", p, d, 0)
}

// Oppose records the person's opposition (9.4, 9.7): every basis known for
// them (the one recomputed from the subject and those of their identity
// rows) is added to the opposition registry as HMAC(opposition key, basis),
// then the person is erased. Later ingests skip their rows before anything
// is stored.
func (s *Service) Oppose(ctx context.Context, req Request, subj Subject) (*Proof, error) {
	if err := s.check(req); err != nil {
		return nil, err
	}
	d := newDeks(s.wh)
	defer d.wipe()
	p, err := s.resolve(ctx, subj, d)
	if err != nil {
		return nil, err
	}
	// Issue 21: every basis the person may be stored under is opposed. A
	// NIR alone, once the identity rows are gone (an earlier erasure),
	// yields no name basis, and a later upload without NIR would pass.
	names := false
	for b := range p.bases {
		if strings.HasPrefix(b, "ID:") {
			names = true
		}
	}
	if !names && !(subj.LastName != "" && subj.FirstName != "" && subj.BirthDate != "" && subj.Sex != "") {
		return nil, ErrOpposeNames
	}
	if err := s.admit(ctx, req, "oppose", [][]string{p.list()}); err != nil {
		return nil, err
	}
	ok, err := s.pseudoKey(ctx, keys.PseudoOpposition)
	if err != nil {
		return nil, err
	}
	defer ok.Wipe()
	n := 0
	for b := range p.bases {
		if _, err := warehouse.AddOpposition(ctx, s.wh.St, ok, b); err != nil {
			return nil, fmt.Errorf("write the opposition registry: %w", err)
		}
		n++
	}
	return s.erase(ctx, req, "opposition", p, d, n)
}

func (s *Service) erase(ctx context.Context, req Request, kind string, p *person, d *deks, oppositions int) (_ *Proof, err error) {
	now := s.opt.Now().UTC()
	before, err := s.locate(ctx, req, p, d)
	if err != nil {
		return nil, err
	}
	if before.GeneticReserved {
		// Refuse before acting: a partial erasure would leave genetic rows.
		return nil, fmt.Errorf("erasure needs the person's genetic rows removed: %w", keys.ErrGeneticReserved)
	}
	pr := &Proof{ID: warehouse.NewID(now), Time: now, Request: req.Ref, Operator: s.opt.Operator, Kind: kind,
		Counts: map[string]int{}, OppositionEntries: oppositions}
	for _, e := range before.Exports {
		if e.State == "cancelled" {
			continue
		}
		if e.Released() || s.opt.Exports == nil {
			pr.OutOfScope = append(pr.OutOfScope, e)
			continue
		}
		// Issue 21: an export not yet released may hold the person's rows.
		op, err := s.opt.Exports.Cancel(ctx, e.ID, req.Ref)
		if err != nil {
			return pr, fmt.Errorf("cancel export %s: %w", e.ID, err)
		}
		if op.Key != "" {
			pr.Objects = append(pr.Objects, op)
		}
		e.State = "cancelled"
		pr.Cancelled = append(pr.Cancelled, e)
		pr.Counts["exports_cancelled"]++
	}
	commits, err := s.wh.Commits(ctx)
	if err != nil {
		return nil, err
	}
	am := amends{}
	var prefixes []string
	for _, ps := range p.list() {
		prefixes = append(prefixes, imagePrefix(ps))
	}
	defer func() {
		if err != nil && len(am) > 0 {
			// Keep the commit records true to what was done so far.
			amendCommits(context.WithoutCancel(ctx), s.wh, d, am, prefixes)
		}
	}()
	// Identity rows go last: an interrupted erasure is rerun and still
	// resolves every pseudonym of the person from them.
	eraseTables := func(identity bool) error {
		for _, c := range commits {
			for _, tb := range batchTables(c.Batch) {
				if (tb.store == keys.Identity) != identity {
					continue
				}
				op, err := s.filterTable(ctx, d, am, c.Batch, tb.store, tb.key, func(r map[string]string) bool { return !p.pseudonyms[r["pseudonym"]] })
				if err != nil {
					return err
				}
				if op == nil {
					continue
				}
				pr.Objects = append(pr.Objects, *op)
				switch tb.store {
				case keys.Health:
					pr.Counts["records"] += op.RowsRemoved
				case keys.Identity:
					pr.Counts["identity"] += op.RowsRemoved
				case keys.Genetic:
					pr.Counts["genetic"] += op.RowsRemoved
				}
			}
		}
		return nil
	}
	if err := eraseTables(false); err != nil {
		return pr, err
	}
	for _, ps := range p.list() {
		imgs, err := images(ctx, s.wh.St, ps, nil)
		if err != nil {
			return pr, err
		}
		for _, im := range imgs {
			sum, size, err := objectHash(ctx, s.wh.St, im.Key)
			if err != nil {
				return pr, err
			}
			if err := s.wh.St.Delete(ctx, im.Key); err != nil {
				return pr, fmt.Errorf("delete an image: %w", err)
			}
			am[im.Key] = nil
			pr.Objects = append(pr.Objects, ObjectProof{Key: "health/images/*/" + im.Key[len(imagePrefix(ps)):], Store: keys.Health,
				Action: "deleted", SHA256Before: sum, SizeBefore: size})
			pr.Counts["images"]++
		}
	}
	if s.opt.Workspaces != nil {
		for _, wc := range before.Workspaces {
			// Issue 21: the workspace's owner is told, before the rows go,
			// which workspace pseudonyms to delete from copies they pulled.
			held, err := heldBy(ctx, s.opt.Workspaces, wc.Project, p.list()) // wc.Rows > 0
			if err != nil {
				return pr, fmt.Errorf("erase from workspace %s: %w", wc.Project, err)
			}
			if len(held) > 0 {
				ref, err := s.opt.Workspaces.Notify(ctx, wc.Project, WorkspaceNotice{Kind: kind, Request: req.Ref, Time: now, Erased: held})
				if err != nil {
					return pr, fmt.Errorf("record the deletion notice of workspace %s: %w", wc.Project, err)
				}
				pr.Notices = append(pr.Notices, ref)
				pr.Counts["workspace_notices"]++
			}
			wp, err := s.opt.Workspaces.Erase(ctx, wc.Project, p.list())
			if err != nil {
				return pr, fmt.Errorf("erase from workspace %s: %w", wc.Project, err)
			}
			if pr.Workspaces == nil {
				pr.Workspaces = map[string]ObjectsProof{}
			}
			pr.Workspaces[wc.Project] = wp
			pr.Counts["workspace_rows"] += wp.Rows
		}
	}
	// The person's pairs in the maps of pseudonym-key rotations (package
	// rotation) go before the identity rows, for the same reason.
	for info, err := range s.wh.St.List(ctx, warehouse.RotationMapPrefix) {
		if err != nil {
			return pr, err
		}
		op, err := s.filterTable(ctx, d, am, batchOfMap(info.Key), keys.Identity, info.Key, func(r map[string]string) bool {
			return !p.pseudonyms[r["new_pseudonym"]] && !p.pseudonyms[r["old_pseudonym"]]
		})
		if err != nil {
			return pr, err
		}
		if op != nil {
			pr.Objects = append(pr.Objects, *op)
			pr.Counts["rotation_map_pairs"] += op.RowsRemoved
		}
	}
	if err := eraseTables(true); err != nil {
		return pr, err
	}
	if pr.AmendedCommits, err = amendCommits(ctx, s.wh, d, am, prefixes); err != nil {
		return pr, err
	}
	after, err := s.locate(ctx, req, p, d)
	if err != nil {
		return pr, err
	}
	pr.Verified = !after.Found
	if err := objstore.WriteJSON(ctx, s.wh.St, ProofPrefix+pr.ID+".json", pr); err != nil {
		return pr, fmt.Errorf("write the deletion proof: %w", err)
	}
	return pr, nil
}

// filterTable rewrites a table keeping the rows for which keep is true,
// streamed: one pass counts, the rewrite (tables.Rewrite) filters row
// group by row group, so that memory is bounded by a row group, not the
// table (issue 17). It returns nil when nothing was removed. An emptied genetic table is
// deleted (ingest writes none for a batch without genetic rows); health and
// identity tables stay, empty, so that every committed batch keeps its layout.
func (s *Service) filterTable(ctx context.Context, d *deks, am amends, batch, store, key string, keep func(map[string]string) bool) (*ObjectProof, error) {
	kept, removed := 0, 0
	t, err := scanTable(ctx, s.wh, d, batch, store, key, func(r map[string]string) error {
		if keep(r) {
			kept++
		} else {
			removed++
		}
		return nil
	})
	if err != nil || !t.exists {
		return nil, err
	}
	if removed == 0 {
		return nil, nil
	}
	sum, size, err := objectHash(ctx, s.wh.St, key)
	if err != nil {
		return nil, err
	}
	op := &ObjectProof{Key: key, Store: store, RowsRemoved: removed, RowsLeft: kept, SHA256Before: sum, SizeBefore: size}
	if kept == 0 && store == keys.Genetic {
		if err := s.wh.St.Delete(ctx, key); err != nil {
			return nil, fmt.Errorf("delete %s: %w", key, err)
		}
		op.Action = "deleted"
		am[key] = nil
		return op, nil
	}
	if err := rewriteTable(ctx, s.wh, d, t, am, func(m map[string]string) (bool, error) { return keep(m), nil }); err != nil {
		return nil, fmt.Errorf("rewrite %s: %w", key, err)
	}
	op.Action = "rewritten"
	if op.SHA256After, op.SizeAfter, err = objectHash(ctx, s.wh.St, key); err != nil {
		return nil, err
	}
	return op, nil
}

// batchOfMap returns the batch of a rotation map's key
// (identity/rotation/v<N>/batch=<id>.parquet).
func batchOfMap(key string) string {
	_, b, _ := strings.Cut(key, "/batch=")
	return strings.TrimSuffix(b, ".parquet")
}
