package rights

import (
	"context"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"hdw/keys"
	"hdw/objstore"
	"hdw/pseudo"
)

// person is a resolved subject: every warehouse pseudonym and every
// pseudonym basis known for them. It lives in memory only.
type person struct {
	pseudonyms map[string]bool
	bases      map[string]bool
	// skipped are name-only pseudonyms shared with a homonym: never acted
	// on automatically, reported to the DPO.
	skipped map[string]bool
}

func (p *person) list() []string {
	out := make([]string, 0, len(p.pseudonyms))
	for k := range p.pseudonyms {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// subjectBases returns the bases computable from what the DPO gave: the NIR
// basis and the name basis when both are complete (SEC-REI-1).
func subjectBases(s Subject) ([]string, error) {
	var out []string
	var firstErr error
	if strings.TrimSpace(s.NIR) != "" {
		b, err := pseudo.Basis(pseudo.Identity{NIR: s.NIR})
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	if s.LastName != "" || s.FirstName != "" || s.BirthDate != "" || s.Sex != "" {
		b, err := pseudo.Basis(pseudo.Identity{LastName: s.LastName, FirstName: s.FirstName, BirthDate: s.BirthDate, Sex: s.Sex})
		if err != nil {
			firstErr = err
		} else {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		if firstErr == nil {
			firstErr = pseudo.ErrMissingField
		}
		return nil, firstErr
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// rowBases returns the bases of an identity row, computed as ingest does
// (birth name preferred over last name): the NIR basis and the name basis
// when each is complete.
func rowBases(r map[string]string) []string {
	var out []string
	last := r["birth_name"]
	if last == "" {
		last = r["last_name"]
	}
	if b, err := pseudo.Basis(pseudo.Identity{NIR: r["nir"], LastName: last, FirstName: r["first_name"], BirthDate: r["birth_date"], Sex: r["sex"]}); err == nil {
		out = append(out, b)
	}
	if r["nir"] != "" {
		if b, err := pseudo.Basis(pseudo.Identity{LastName: last, FirstName: r["first_name"], BirthDate: r["birth_date"], Sex: r["sex"]}); err == nil {
			out = append(out, b)
		}
		if r["birth_name"] != "" && r["last_name"] != "" {
			if b, err := pseudo.Basis(pseudo.Identity{LastName: r["last_name"], FirstName: r["first_name"], BirthDate: r["birth_date"], Sex: r["sex"]}); err == nil {
				out = append(out, b)
			}
		}
	}
	return out
}

// matcher compares identity rows with a subject, in canonical form.
type matcher struct {
	nir                    string
	last, first, date, sex string
	names                  bool
}

func newMatcher(s Subject) matcher {
	m := matcher{nir: pseudo.CleanNIR(s.NIR)}
	if s.LastName != "" && s.FirstName != "" && s.BirthDate != "" && s.Sex != "" {
		d, err1 := pseudo.ParseDate(s.BirthDate)
		sex, err2 := pseudo.NormalizeSex(s.Sex)
		if err1 == nil && err2 == nil {
			m.names = true
			m.last, m.first = pseudo.Normalize(s.LastName), pseudo.Normalize(s.FirstName)
			m.date, m.sex = d.Format("2006-01-02"), sex
		}
	}
	return m
}

func (m matcher) match(r map[string]string) bool {
	rn := pseudo.CleanNIR(r["nir"])
	if m.nir != "" && rn == m.nir {
		return true
	}
	if !m.names || (m.nir != "" && rn != "") {
		// A row with another NIR is another person, even with the same names.
		return false
	}
	if pseudo.Normalize(r["first_name"]) != m.first {
		return false
	}
	if pseudo.Normalize(r["last_name"]) != m.last && pseudo.Normalize(r["birth_name"]) != m.last {
		return false
	}
	d, err := pseudo.ParseDate(r["birth_date"])
	if err != nil || d.Format("2006-01-02") != m.date {
		return false
	}
	sex, err := pseudo.NormalizeSex(r["sex"])
	return err == nil && sex == m.sex
}

// begin starts a call on a person (SEC-REI-1/4): the request checked,
// the person resolved from the subject and admitted to the day's budget
// of re-identifications under kind. The caller wipes the data keys.
func (s *Service) begin(ctx context.Context, req Request, subj Subject, kind string) (*person, *deks, error) {
	if err := s.check(req); err != nil {
		return nil, nil, err
	}
	d := newDeks(s.wh)
	p, err := s.resolve(ctx, subj, d)
	if err == nil {
		err = s.admit(ctx, req, kind, [][]string{p.list()})
	}
	if err != nil {
		d.wipe()
		return nil, nil, err
	}
	return p, d, nil
}

// resolve recomputes the person's pseudonyms from the subject (SEC-REI-1)
// and completes them from the identity store.
func (s *Service) resolve(ctx context.Context, subj Subject, d *deks) (*person, error) {
	bases, err := subjectBases(subj)
	if err != nil {
		return nil, err
	}
	wk, err := s.warehouseKey(ctx)
	if err != nil {
		return nil, err
	}
	defer wk.Wipe()
	rows, err := s.identityRows(ctx, d)
	if err != nil {
		return nil, err
	}
	// A name basis shared by rows of two different NIRs (homonyms) is
	// ambiguous: rows under that name-only pseudonym may belong to either
	// person, so they are never linked through a NIR; they are reported.
	nirsOf := map[string]map[string]bool{}
	for _, r := range rows {
		n := pseudo.CleanNIR(r["nir"])
		if n == "" {
			continue
		}
		for _, b := range rowBases(r) {
			if strings.HasPrefix(b, "ID:") {
				if nirsOf[b] == nil {
					nirsOf[b] = map[string]bool{}
				}
				nirsOf[b][n] = true
			}
		}
	}
	ambiguous := func(b string) bool { return len(nirsOf[b]) > 1 }
	p := &person{pseudonyms: map[string]bool{}, bases: map[string]bool{}, skipped: map[string]bool{}}
	nirGiven := strings.TrimSpace(subj.NIR) != ""
	for _, b := range bases {
		if nirGiven && strings.HasPrefix(b, "ID:") && ambiguous(b) {
			p.skipped[wk.Patient(b)] = true
			continue
		}
		p.bases[b] = true
		p.pseudonyms[wk.Patient(b)] = true
	}
	// Fixpoint: a row matching the subject or holding a known pseudonym
	// brings its other bases (a NIR row brings the name basis, and back).
	m := newMatcher(subj)
	used := make([]bool, len(rows))
	for changed := true; changed; {
		changed = false
		for i, r := range rows {
			if used[i] || (!m.match(r) && !p.pseudonyms[r["pseudonym"]]) {
				continue
			}
			used[i], changed = true, true
			if ps := r["pseudonym"]; ps != "" {
				p.pseudonyms[ps] = true
			}
			for _, b := range rowBases(r) {
				if p.bases[b] {
					continue
				}
				if strings.HasPrefix(b, "ID:") && ambiguous(b) {
					p.skipped[wk.Patient(b)] = true
					continue
				}
				p.bases[b] = true
				p.pseudonyms[wk.Patient(b)] = true
			}
		}
	}
	// Names matching rows of two different NIRs are two persons.
	nirs := 0
	for b := range p.bases {
		if strings.HasPrefix(b, "NIR:") {
			nirs++
		}
	}
	if nirs > 1 {
		return nil, ErrAmbiguous
	}
	for ps := range p.pseudonyms {
		delete(p.skipped, ps)
	}
	return p, nil
}

// BatchCount is what one batch holds of a person.
type BatchCount struct {
	Batch     string    `json:"batch"`
	Collected time.Time `json:"collected"`
	Records   int       `json:"records"`
	Images    int       `json:"images"`
	Genetic   int       `json:"genetic"`
	Identity  int       `json:"identity"`
}

// WorkspaceCount is what one workspace holds of a person.
type WorkspaceCount struct {
	Project string `json:"project"`
	Rows    int    `json:"rows"`
}

// Export is an export request and its true state (issue 21): released
// exports left the warehouse; the others (pending, quarantined, awaiting a
// second approval, approved and not fetched, rejected) still hold their
// data there and an erasure cancels them.
type Export struct {
	ID        string    `json:"id"`
	Built     time.Time `json:"built"`
	State     string    `json:"state,omitempty"`
	Justified bool      `json:"justified_release,omitempty"`
	Project   string    `json:"project,omitempty"`
}

// Released reports whether the export's data left the warehouse.
func (e Export) Released() bool { return e.State == "released" }

// ExportIndex reaches the warehouse's exports with their verified state;
// cmd/hdw implements it with package export.
type ExportIndex interface {
	// Exports lists every export request (exports/ and quarantine/).
	Exports(ctx context.Context) ([]Export, error)
	// Cancel cancels an export that was not released: its stored data is
	// deleted and a cancellation is appended to its history. It returns
	// the proof of what was deleted.
	Cancel(ctx context.Context, id, request string) (ObjectProof, error)
}

// Location is the answer of [Service.Find]. Found is false when the
// warehouse holds nothing of the person; that is an answer, not an error.
type Location struct {
	Request    string           `json:"request"`
	Found      bool             `json:"found"`
	Pseudonyms []string         `json:"pseudonyms,omitempty"`
	Batches    []BatchCount     `json:"batches,omitempty"`
	Workspaces []WorkspaceCount `json:"workspaces,omitempty"`
	// Exports are the anonymous exports built after the person's first
	// ingest: they may derive from their data but hold no pseudonym; they
	// are out of the scope of erasure.
	Exports []Export `json:"exports_after_ingest,omitempty"`
	// Ambiguous counts the identity rows under a name-only pseudonym that
	// homonyms with different NIRs share: they may be this person's and are
	// left untouched; the DPO checks them by hand (reidentify --pseudonym).
	Ambiguous           int      `json:"ambiguous,omitempty"`
	AmbiguousPseudonyms []string `json:"ambiguous_pseudonyms,omitempty"`
	Records             int      `json:"records"`
	Images              int      `json:"images"`
	Genetic             int      `json:"genetic"`
	Identity            int      `json:"identity"`
	// GeneticReserved is true when a batch holds a genetic table that this
	// profile may not read (SEC-LOG-6: only ingest and curator mobilize the
	// genetic key): Genetic then counts nothing, and a request covering
	// genetic data needs a curator-prepared extract.
	GeneticReserved bool `json:"genetic_reserved,omitempty"`
}

// Find locates a person (SEC-REI-1, 9.2). It counts one resolution in the
// ledger.
func (s *Service) Find(ctx context.Context, req Request, subj Subject) (*Location, error) {
	p, d, err := s.begin(ctx, req, subj, "find")
	if err != nil {
		return nil, err
	}
	defer d.wipe()
	return s.locate(ctx, req, p, d)
}

func (s *Service) locate(ctx context.Context, req Request, p *person, d *deks) (*Location, error) {
	loc := &Location{Request: req.Ref}
	commits, err := s.wh.Commits(ctx)
	if err != nil {
		return nil, err
	}
	byBatch := map[string]*BatchCount{}
	held := map[string]bool{}
	amb := map[string]bool{}
	var first time.Time
	for _, c := range commits {
		bc := &BatchCount{Batch: c.Batch, Collected: c.Created}
		for _, tb := range batchTables(c.Batch) {
			n, ambiguous := 0, 0
			_, err := scanTable(ctx, s.wh, d, c.Batch, tb.store, tb.key, func(r map[string]string) error {
				if ps := r["pseudonym"]; p.pseudonyms[ps] {
					n++
					held[ps] = true
				} else if tb.store == keys.Identity && p.skipped[ps] {
					ambiguous++
					amb[ps] = true
				}
				return nil
			})
			if tb.store == keys.Genetic && errors.Is(err, keys.ErrGeneticReserved) {
				// SEC-LOG-6: a batch holding the person and a genetic table
				// this profile cannot read; a curator-prepared extract counts it.
				loc.GeneticReserved = loc.GeneticReserved || bc.Records+bc.Identity > 0
				continue
			}
			if err != nil {
				return nil, err
			}
			loc.Ambiguous += ambiguous
			switch tb.store {
			case keys.Health:
				bc.Records = n
			case keys.Identity:
				bc.Identity = n
			case keys.Genetic:
				bc.Genetic = n
			}
		}
		byBatch[c.Batch] = bc
	}
	for _, ps := range p.list() {
		imgs, err := images(ctx, s.wh.St, ps, nil)
		if err != nil {
			return nil, err
		}
		for _, im := range imgs {
			if bc, ok := byBatch[imageBatch(im.Key)]; ok {
				bc.Images++
				held[ps] = true
			}
		}
	}
	for _, c := range commits {
		bc := byBatch[c.Batch]
		if bc.Records+bc.Images+bc.Genetic+bc.Identity == 0 {
			continue
		}
		loc.Batches = append(loc.Batches, *bc)
		loc.Records += bc.Records
		loc.Images += bc.Images
		loc.Genetic += bc.Genetic
		loc.Identity += bc.Identity
		if first.IsZero() || c.Created.Before(first) {
			first = c.Created
		}
	}
	if s.opt.Workspaces != nil {
		projects, err := s.opt.Workspaces.Projects(ctx)
		if err != nil {
			return nil, err
		}
		for _, pr := range projects {
			n, err := s.opt.Workspaces.Find(ctx, pr, p.list())
			if err != nil {
				return nil, err
			}
			if n > 0 {
				loc.Workspaces = append(loc.Workspaces, WorkspaceCount{Project: pr, Rows: n})
			}
		}
	}
	for ps := range amb {
		loc.AmbiguousPseudonyms = append(loc.AmbiguousPseudonyms, ps)
	}
	sort.Strings(loc.AmbiguousPseudonyms)
	loc.Found = len(loc.Batches) > 0 || len(loc.Workspaces) > 0
	if !loc.Found {
		return loc, nil
	}
	// Only pseudonyms that hold data are reported.
	for _, ps := range p.list() {
		if held[ps] {
			loc.Pseudonyms = append(loc.Pseudonyms, ps)
		}
	}
	if !first.IsZero() {
		exps, err := s.exports(ctx)
		if err != nil {
			return nil, err
		}
		for _, e := range exps {
			if !e.Built.Before(first) {
				loc.Exports = append(loc.Exports, e)
			}
		}
	}
	return loc, nil
}

// exports lists the exports with their state (the index), or the folders
// under exports/ when no index is configured.
func (s *Service) exports(ctx context.Context) ([]Export, error) {
	if s.opt.Exports == nil {
		return Exports(ctx, s.wh.St)
	}
	out, err := s.opt.Exports.Exports(ctx)
	if err != nil {
		return nil, fmt.Errorf("list exports: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Built.Equal(out[j].Built) {
			return out[i].Built.Before(out[j].Built)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Exports lists the exports under exports/<id>/, oldest first. An export's
// date is the timestamp prefix of its id when it has one (warehouse.NewID),
// else the oldest modification time of its objects.
func Exports(ctx context.Context, st objstore.Store) ([]Export, error) {
	byID := map[string]time.Time{}
	for info, err := range st.List(ctx, "exports/") {
		if err != nil {
			if errors.Is(err, objstore.ErrNotExist) {
				break
			}
			return nil, err
		}
		rest := strings.TrimPrefix(info.Key, "exports/")
		id, _, ok := strings.Cut(rest, "/")
		if !ok || id == "" {
			continue
		}
		t, seen := byID[id]
		if !seen || info.ModTime.Before(t) {
			byID[id] = info.ModTime
		}
	}
	var out []Export
	for id, t := range byID {
		if ts, err := time.Parse("20060102T150405Z", strings.SplitN(id, "-", 2)[0]); err == nil {
			t = ts
		}
		out = append(out, Export{ID: path.Clean(id), Built: t.UTC()})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Built.Equal(out[j].Built) {
			return out[i].Built.Before(out[j].Built)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}
