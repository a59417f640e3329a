package main

import (
	"context"
	"fmt"

	"github.com/apache/arrow/go/v17/arrow"

	"hdw/export"
	"hdw/keys"
	"hdw/pseudo"
	"hdw/rights"
	"hdw/workspaces"
)

// exportIndex gives the rights service the exports with their verified
// state, and cancels unreleased ones on erasure (issue 21).
type exportIndex struct {
	sess *session
	desk *export.Desk
}

var _ rights.ExportIndex = exportIndex{}

func (x exportIndex) Exports(ctx context.Context) ([]rights.Export, error) {
	sums, err := x.sess.exportStates(ctx, x.desk)
	if err != nil {
		return nil, err
	}
	out := make([]rights.Export, 0, len(sums))
	for _, s := range sums {
		out = append(out, rights.Export{ID: s.ID, Built: s.Created, State: s.State, Justified: s.Justified, Project: s.Project})
	}
	return out, nil
}

// Cancel appends the DPO's cancellation to the export's history, deletes
// its data and regenerates its report. A forged export's data is deleted
// too (nothing trustworthy says it was released).
func (x exportIndex) Cancel(ctx context.Context, id, request string) (rights.ObjectProof, error) {
	key, sum, err := x.desk.Cancel(ctx, id, "erasure request "+request)
	if key == "" || sum == "" {
		return rights.ObjectProof{}, err
	}
	op := rights.ObjectProof{Key: key, Store: keys.Health, Action: "deleted", SHA256Before: sum}
	if err != nil {
		return op, err
	}
	x.sess.event(ctx, "", "export.cancel", "ok", map[string]string{"export": id, "request": request}, nil, "cancelled by an erasure: re-run the request")
	return op, nil
}

// rowFilter drops the rows of persons whose processing is restricted
// (GDPR art. 18) from an export's source.
type rowFilter struct {
	export.RowSource
	skip     map[string]bool
	column   string
	excluded map[string]bool
}

func (f *rowFilter) Rows(ctx context.Context, fn func(map[string]string) error) error {
	return f.RowSource.Rows(ctx, func(r map[string]string) error {
		if f.skip[r[f.column]] {
			f.excluded[r[f.column]] = true
			return nil
		}
		return fn(r)
	})
}

// Records streams the inner source's typed batches when nobody is
// restricted, string batches of the kept rows otherwise.
func (f *rowFilter) Records(ctx context.Context, cols []string, fn func(arrow.Record) error) error {
	if rs, ok := f.RowSource.(export.RecordSource); ok && len(f.skip) == 0 {
		return rs.Records(ctx, cols, fn)
	}
	return export.StringRecords(ctx, rowsOnly{f}, cols, fn)
}

// rowsOnly hides a source's Records (StringRecords reads its Rows).
type rowsOnly struct{ export.RowSource }

var _ export.RecordSource = (*rowFilter)(nil)

// withoutRestricted wraps an export source so that restricted persons are
// left out: warehouse pseudonyms for the health table, their workspace
// pseudonyms (the workspace's or cohort's key) for a workspace table.
func (s *session) withoutRestricted(ctx context.Context, src export.RowSource, table, project string) (*rowFilter, error) {
	set, err := rights.Restricted(ctx, s.wh)
	if err != nil {
		return nil, fmt.Errorf("read the restriction registry: %w", err)
	}
	f := &rowFilter{RowSource: src, skip: set, column: "pseudonym", excluded: map[string]bool{}}
	if table == "health" || len(set) == 0 {
		return f, nil
	}
	d, err := workspaces.Load(ctx, s.st, project)
	if err != nil {
		return nil, err
	}
	name := keys.PseudoWorkspace(project)
	if d.Cohort != "" {
		name = keys.PseudoCohort(d.Cohort)
	}
	sec, err := s.prov.PseudonymKey(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("workspace pseudonym key: %w", err)
	}
	k, err := pseudo.New(sec)
	sec.Wipe()
	if err != nil {
		return nil, err
	}
	defer k.Wipe()
	f.skip = map[string]bool{}
	for p := range set {
		f.skip[k.Rekey(pseudo.DomainWorkspace, p)] = true
	}
	return f, nil
}
