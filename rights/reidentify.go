package rights

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"hdw/configs"
	"hdw/criteria"
	"hdw/keys"
	"hdw/warehouse"
)

// ContactColumns are the identity columns returned for recontact (SEC-REI-2).
var contactColumns = []string{"last_name", "birth_name", "first_name", "address", "postal_code", "city", "phone", "email"}

// ContactColumns returns the identity columns returned by [Service.Recontact].
func ContactColumns() []string { return slices.Clone(contactColumns) }

// Identity is a re-identified person (SEC-REI-3): the identifying columns,
// latest non-empty value first, and the number of identity rows.
type Identity struct {
	Pseudonym string            `json:"pseudonym"`
	Fields    map[string]string `json:"fields"`
	Rows      int               `json:"rows"`
}

// ValidPseudonym reports whether s has the shape of a pseudonym (32
// characters of the base32 alphabet a-z2-7).
func ValidPseudonym(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

// Emergency returns the identity behind a pseudonym in a medical emergency
// (SEC-REI-3). req.Reason must be [ReasonEmergency]. A workspace pseudonym
// is accepted when project names its workspace. The call counts one person
// in the ledger, found or not.
func (s *Service) Emergency(ctx context.Context, req Request, pseudonym, project string) (*Identity, error) {
	if err := s.check(req); err != nil {
		return nil, err
	}
	if req.Reason != ReasonEmergency {
		return nil, ErrNoReason
	}
	if !ValidPseudonym(pseudonym) {
		return nil, fmt.Errorf("%w (malformed pseudonym)", ErrNotFound)
	}
	d := newDeks(s.wh)
	defer d.wipe()
	rows, err := s.identityRows(ctx, d)
	if err != nil {
		return nil, err
	}
	wp := pseudonym
	if project != "" {
		if s.opt.Workspaces == nil {
			return nil, ErrNoWorkspaces
		}
		cands := map[string]bool{}
		for _, r := range rows {
			cands[r["pseudonym"]] = true
		}
		list := make([]string, 0, len(cands))
		for c := range cands {
			list = append(list, c)
		}
		sort.Strings(list)
		wp, err = s.opt.Workspaces.Resolve(ctx, project, pseudonym, list)
		if err != nil {
			return nil, fmt.Errorf("resolve the workspace pseudonym: %w", err)
		}
	}
	tag := wp
	if tag == "" {
		tag = pseudonym
	}
	// GDPR art. 18: a restricted person is not re-identified.
	restricted, err := Restricted(ctx, s.wh)
	if err != nil {
		return nil, err
	}
	if restricted[tag] {
		return nil, ErrRestricted
	}
	if err := s.admit(ctx, req, ReasonEmergency, [][]string{{tag}}); err != nil {
		return nil, err
	}
	if wp == "" {
		return nil, ErrNotFound
	}
	id := &Identity{Pseudonym: wp, Fields: map[string]string{}}
	idCols := s.opt.Dict.ByCategory(configs.CatIdentifying)
	for i := len(rows) - 1; i >= 0; i-- {
		r := rows[i]
		if r["pseudonym"] != wp {
			continue
		}
		id.Rows++
		for _, c := range idCols {
			if v := r[c]; v != "" && id.Fields[c] == "" {
				id.Fields[c] = v
			}
		}
	}
	if id.Rows == 0 {
		return nil, ErrNotFound
	}
	return id, nil
}

// Contact is one person's contact details for recontact (SEC-REI-2).
type Contact map[string]string

// CriteriaSchema is what a recontact criterion may read: the health and
// derived columns of the dictionary, and collected (the ingest date).
func CriteriaSchema(d *configs.Dictionary) *criteria.Schema {
	return criteria.FromDictionary(d, []string{configs.CatHealth, configs.CatDerived},
		criteria.Column{Name: "collected", Type: criteria.Date})
}

// Recontact selects the persons whose health records satisfy criteria (see
// [criteria.Compile]; health and derived columns only) and returns their contact
// details only, for the sole purpose of offering them participation in
// research (SEC-REI-2). req.Reason must be [ReasonRecontact]. Every person
// returned counts in the ledger; when the daily limit would be exceeded
// nothing is returned.
func (s *Service) Recontact(ctx context.Context, req Request, where string) ([]Contact, error) {
	if err := s.check(req); err != nil {
		return nil, err
	}
	if req.Reason != ReasonRecontact {
		return nil, ErrNoReason
	}
	ex, err := criteria.Compile(where, CriteriaSchema(s.opt.Dict))
	if err != nil {
		return nil, err
	}
	d := newDeks(s.wh)
	defer d.wipe()
	commits, err := s.wh.Commits(ctx)
	if err != nil {
		return nil, err
	}
	// GDPR art. 18: restricted persons are never selected.
	restricted, err := Restricted(ctx, s.wh)
	if err != nil {
		return nil, err
	}
	selected := map[string]bool{}
	for _, c := range commits {
		if _, err := scanTable(ctx, s.wh, d, c.Batch, keys.Health, warehouse.HealthTableKey(c.Batch), func(r map[string]string) error {
			if ex.Match(r) && !restricted[r["pseudonym"]] {
				selected[r["pseudonym"]] = true
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	rows, err := s.identityRows(ctx, d)
	if err != nil {
		return nil, err
	}
	byPseudo := map[string]Contact{}
	var order []string
	for i := len(rows) - 1; i >= 0; i-- {
		r := rows[i]
		ps := r["pseudonym"]
		if !selected[ps] {
			continue
		}
		c, ok := byPseudo[ps]
		if !ok {
			c = Contact{}
			byPseudo[ps] = c
			order = append(order, ps)
		}
		for _, col := range contactColumns {
			if v := r[col]; v != "" && c[col] == "" {
				c[col] = v
			}
		}
	}
	sort.Strings(order)
	persons := make([][]string, 0, len(order))
	for _, ps := range order {
		persons = append(persons, []string{ps})
	}
	if err := s.admit(ctx, req, ReasonRecontact, persons); err != nil {
		return nil, err
	}
	out := make([]Contact, 0, len(order))
	for _, ps := range order {
		out = append(out, byPseudo[ps])
	}
	return out, nil
}
