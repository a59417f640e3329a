package export

import (
	"context"
	"fmt"
	"slices"

	"hdw/configs"
	"hdw/policy"
)

// Floors are the binding minimums of every export, from the sealed
// warehouse policy: a request may ask for more (a larger k or l, a smaller
// t or suppression limit), never less.
type Floors struct {
	K              int
	L              int
	T              float64 // 0: t-closeness not required
	MaxSuppression float64
}

// ErrLoosen is wrapped by a [LoosenError]: it is [policy.ErrLoosen], one
// sentinel for every value that would loosen the sealed policy.
var ErrLoosen = policy.ErrLoosen

// LoosenError is a request that asks for less than the policy's floor; it
// is [policy.LoosenError].
type LoosenError = policy.LoosenError

// releasable are the dictionary categories whose columns may be released.
var releasable = []string{configs.CatHealth, configs.CatDerived, configs.CatGenetic}

// Gate is the export gate as the warehouse imposes it (SEC-EXP-1): the
// quasi-identifiers are the dictionary's, the floors the policy's.
type Gate struct {
	Dict   *configs.Dictionary
	Floors Floors
}

// Prepare returns req made binding for a table with columns cols:
//   - every column the dictionary marks quasi_identifier, and every derived
//     column, that the table holds is a quasi-identifier (a request adds
//     quasi-identifiers, never removes one);
//   - every released column (quasi-identifiers not dropped by a rule, and
//     sensitive columns) is declared in the dictionary as health, derived
//     or genetic data; the person column is never released;
//   - k, l, t and the suppression limit default to the floors and may only
//     be tightened ([LoosenError] otherwise).
//
// Errors wrap [ErrRequest] or [ErrLoosen].
func (g Gate) Prepare(cols []string, req Request) (Request, error) {
	if g.Dict == nil {
		return req, fmt.Errorf("%w: no data dictionary", ErrRequest)
	}
	f := g.Floors
	switch {
	case req.K == 0:
		req.K = f.K
	case req.K < f.K:
		return req, &LoosenError{Field: "k", Asked: fmt.Sprint(req.K), Policy: fmt.Sprintf("k=%d", f.K)}
	}
	switch {
	case req.L == 0:
		req.L = f.L
	case req.L < f.L:
		return req, &LoosenError{Field: "l", Asked: fmt.Sprint(req.L), Policy: fmt.Sprintf("l=%d", f.L)}
	}
	switch {
	case req.T == 0:
		req.T = f.T
	case f.T > 0 && req.T > f.T:
		return req, &LoosenError{Field: "t", Asked: fmt.Sprint(req.T), Policy: fmt.Sprintf("t=%g", f.T)}
	}
	switch {
	case req.MaxSuppression == 0:
		req.MaxSuppression = f.MaxSuppression
	case f.MaxSuppression > 0 && req.MaxSuppression > f.MaxSuppression:
		return req, &LoosenError{Field: "max suppression", Asked: fmt.Sprint(req.MaxSuppression), Policy: fmt.Sprintf("max_suppression=%g", f.MaxSuppression)}
	}
	var dictQIs []string
	for _, c := range g.Dict.Columns {
		if (c.QuasiIdentifier || c.Category == configs.CatDerived) && slices.Contains(cols, c.Name) {
			dictQIs = append(dictQIs, c.Name)
		}
	}
	qis := append([]string(nil), dictQIs...)
	for _, q := range req.QuasiIdentifiers {
		if !slices.Contains(qis, q) {
			qis = append(qis, q)
		}
	}
	req.QuasiIdentifiers, req.DictionaryQIs = qis, dictQIs
	if len(qis) == 0 {
		return req, fmt.Errorf("%w: the table holds none of the dictionary's quasi-identifiers: name some with --quasi", ErrRequest)
	}
	for _, c := range append(append([]string{}, qis...), req.Sensitive...) {
		if c == req.PersonColumn && c != "" {
			return req, fmt.Errorf("%w: column %q is the person column, never released", ErrRequest, c)
		}
		if slices.Contains(qis, c) && req.rule(c).Kind == "drop" {
			continue
		}
		col, ok := g.Dict.Lookup(c)
		if !ok {
			return req, fmt.Errorf("%w: column %q is not declared in the data dictionary: only declared columns are released", ErrRequest, c)
		}
		if !slices.Contains(releasable, col.Category) {
			return req, fmt.Errorf("%w: column %q is %s data in the data dictionary: only health, derived and genetic columns are released", ErrRequest, c, col.Category)
		}
	}
	for _, s := range req.Sensitive {
		if slices.Contains(qis, s) {
			return req, fmt.Errorf("%w: column %q is a quasi-identifier; it cannot also be sensitive", ErrRequest, s)
		}
	}
	return req, nil
}

// Check prepares req ([Gate.Prepare]) against the source's columns and runs
// the gate ([Check]).
func (g Gate) Check(ctx context.Context, src RowSource, req Request) (*Report, error) {
	req, err := g.Prepare(src.Columns(), req)
	if err != nil {
		return nil, err
	}
	rep, err := Check(ctx, src, req)
	if err != nil {
		return nil, err
	}
	l, err := ReleaseLayout(g.Dict, rep.Request, rep.OutputColumns)
	if err != nil {
		return nil, err
	}
	rep.ReleasedColumns = l.Columns()
	return rep, nil
}
