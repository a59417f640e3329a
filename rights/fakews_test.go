package rights_test

import (
	"context"
	"slices"
	"strconv"
	"testing"

	"hdw/keys"
	"hdw/keys/keystest"
	"hdw/pseudo"
	"hdw/rights"
)

// fakeWS is an in-memory WorkspaceIndex: each project holds workspace
// pseudonyms = HMAC(pseudo:ws:<project>, warehouse pseudonym).
type fakeWS struct {
	keys    keystest.Derived // a view allowed the workspace pseudonym keys
	rows    map[string][]string
	notices map[string][]rights.WorkspaceNotice
}

func (w *fakeWS) rekey(project, p string) string {
	sk, _ := w.keys.PseudonymKey(context.Background(), keys.PseudoWorkspace(project))
	k, _ := pseudo.New(sk)
	return k.Rekey(pseudo.DomainWorkspace, p)
}

// demoWithWorkspaces ingests the demo upload and returns the dpo's rights
// service over an empty fakeWS.
func (f *fixture) demoWithWorkspaces(t *testing.T) (*rights.Service, *fakeWS) {
	t.Helper()
	f.demo(t)
	ws := &fakeWS{keys: f.as(keys.ProfileCurator).Derived, rows: map[string][]string{}}
	return f.service(t, func(o *rights.Options) { o.Workspaces = ws }), ws
}

// cardioHoldsA is demoWithWorkspaces with A's warehouse pseudonym (found
// under request ref, returned) twice in the cardio workspace and another
// person's once in onco.
func (f *fixture) cardioHoldsA(t *testing.T, ref string) (*rights.Service, *fakeWS, string) {
	t.Helper()
	s, ws := f.demoWithWorkspaces(t)
	pA := f.hold(t, s, ws, ref, f.A, "cardio", 2)
	ws.add("onco", "otherpseudonymaaaaaaaaaaaaaaaaaa", 1)
	return s, ws, pA
}

// hold finds p by NIR under request ref and copies their warehouse
// pseudonym into project n times; it returns the pseudonym.
func (f *fixture) hold(t *testing.T, s *rights.Service, ws *fakeWS, ref string, p synthPerson, project string, n int) string {
	t.Helper()
	loc, err := s.Find(f.ctx, req(ref), subjNIR(p))
	if err != nil || len(loc.Pseudonyms) == 0 {
		t.Fatal(err, loc)
	}
	ws.add(project, loc.Pseudonyms[0], n)
	return loc.Pseudonyms[0]
}

// add copies a warehouse pseudonym into a workspace n times.
func (w *fakeWS) add(project, p string, n int) {
	for i := 0; i < n; i++ {
		w.rows[project] = append(w.rows[project], w.rekey(project, p))
	}
}

func (w *fakeWS) Projects(ctx context.Context) ([]string, error) {
	var out []string
	for p := range w.rows {
		out = append(out, p)
	}
	slices.Sort(out)
	return out, nil
}

func (w *fakeWS) Find(ctx context.Context, project string, ps []string) (int, error) {
	n := 0
	for _, p := range ps {
		wp := w.rekey(project, p)
		for _, r := range w.rows[project] {
			if r == wp {
				n++
			}
		}
	}
	return n, nil
}

func (w *fakeWS) Erase(ctx context.Context, project string, ps []string) (rights.ObjectsProof, error) {
	var pr rights.ObjectsProof
	for _, p := range ps {
		wp := w.rekey(project, p)
		kept := w.rows[project][:0]
		for _, r := range w.rows[project] {
			if r == wp {
				pr.Rows++
			} else {
				kept = append(kept, r)
			}
		}
		w.rows[project] = kept
	}
	pr.Objects = append(pr.Objects, rights.ObjectProof{Key: "workspaces/" + project + "/records.parquet", Store: keys.Workspace(project), Action: "rewritten", RowsRemoved: pr.Rows})
	return pr, nil
}

func (w *fakeWS) Resolve(ctx context.Context, project, wp string, cands []string) (string, error) {
	for _, c := range cands {
		if w.rekey(project, c) == wp {
			return c, nil
		}
	}
	return "", nil
}

func (w *fakeWS) Notify(ctx context.Context, project string, n rights.WorkspaceNotice) (rights.NoticeRef, error) {
	if w.notices == nil {
		w.notices = map[string][]rights.WorkspaceNotice{}
	}
	w.notices[project] = append(w.notices[project], n)
	return rights.NoticeRef{Project: project, ID: strconv.Itoa(len(w.notices[project])), Kind: n.Kind, Pseudonyms: len(n.Erased) + len(n.Renamed)}, nil
}

func (w *fakeWS) Rename(ctx context.Context, project, old, np string) (int, error) {
	o, n := w.rekey(project, old), w.rekey(project, np)
	c := 0
	for i, r := range w.rows[project] {
		if r == o {
			w.rows[project][i] = n
			c++
		}
	}
	return c, nil
}
