package rights_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"hdw/objstore"

	"hdw/rights"
)

// fakeExports is an export index with one export per state.
type fakeExports struct {
	list      []rights.Export
	cancelled []string
}

func (x *fakeExports) Exports(context.Context) ([]rights.Export, error) { return x.list, nil }
func (x *fakeExports) Cancel(_ context.Context, id, _ string) (rights.ObjectProof, error) {
	x.cancelled = append(x.cancelled, id)
	return rights.ObjectProof{Key: "exports/" + id + "/data.parquet", Action: "deleted"}, nil
}

// TestSEC_REI_1_ErasureCancelsUnreleasedExports: an erasure cancels every
// export built after the person's first ingest that was not released
// (pending, quarantined, approved and not fetched, rejected), so that an
// approval after the erasure releases nothing of them; released ones are
// out of scope; rights find lists each export's true state.
func TestSEC_REI_1_ErasureCancelsUnreleasedExports(t *testing.T) {
	f := newFixture(t)
	f.demo(t)
	after := f.now.Add(1)
	x := &fakeExports{list: []rights.Export{
		{ID: "E-pending", Built: after, State: "pending-approval"},
		{ID: "E-quarantined", Built: after, State: "quarantined"},
		{ID: "E-approved", Built: after, State: "approved"},
		{ID: "E-rejected", Built: after, State: "rejected"},
		{ID: "E-released", Built: after, State: "released"},
		{ID: "E-justified", Built: after, State: "released", Justified: true},
		{ID: "E-before", Built: f.now.AddDate(-1, 0, 0), State: "pending-approval"},
	}}
	svc := f.service(t, func(o *rights.Options) { o.Exports = x })
	loc, err := svc.Find(f.ctx, req("DPO-21"), subjNIR(f.A))
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]rights.Export{}
	for _, e := range loc.Exports {
		states[e.ID] = e
	}
	if states["E-rejected"].State != "rejected" || !states["E-justified"].Justified || len(loc.Exports) != 6 {
		t.Fatalf("exports listed: %+v", loc.Exports)
	}
	out, _ := objstore.NewLocal(t.TempDir())
	if _, err := svc.Access(f.ctx, req("DPO-21"), subjNIR(f.A), out); err != nil {
		t.Fatal(err)
	}
	r, err := out.Open(f.ctx, "summary.txt")
	if err != nil {
		t.Fatal(err)
	}
	summary, _ := io.ReadAll(r)
	r.Close()
	if !strings.Contains(string(summary), "anonymous exports released since: 2") || !strings.Contains(string(summary), "justified review") ||
		!strings.Contains(string(summary), "not released: 3") {
		t.Fatalf("access summary does not show the exports' true states:\n%s", summary)
	}
	pr, err := svc.Erase(f.ctx, req("DPO-21"), subjNIR(f.A))
	if err != nil {
		t.Fatal(err)
	}
	if len(x.cancelled) != 4 || len(pr.Cancelled) != 4 || len(pr.OutOfScope) != 2 || pr.Counts["exports_cancelled"] != 4 {
		t.Fatalf("cancelled %v, proof cancelled %d out of scope %d", x.cancelled, len(pr.Cancelled), len(pr.OutOfScope))
	}
}

// TestSEC_REI_1_OpposeEveryBasis: after an erasure the identity rows are
// gone; an opposition by NIR alone would miss a later upload by name, so
// the names are required, and both bases are registered.
func TestSEC_REI_1_OpposeEveryBasis(t *testing.T) {
	f := newFixture(t)
	f.demo(t)
	svc := f.service(t, nil)
	if _, err := svc.Erase(f.ctx, req("DPO-22"), subjNIR(f.A)); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Oppose(f.ctx, req("DPO-22"), subjNIR(f.A)); !errors.Is(err, rights.ErrOpposeNames) {
		t.Fatalf("oppose by NIR alone after erasure: %v", err)
	}
	both := subjName(f.A)
	both.NIR = f.A.nir
	pr, err := svc.Oppose(f.ctx, req("DPO-22"), both)
	if err != nil || pr.OppositionEntries != 2 {
		t.Fatalf("oppose with NIR and names: %v %+v", err, pr)
	}
	// A later upload of A without NIR is refused.
	noNIR := f.A
	noNIR.nir = ""
	sum := f.ingest(t, "upload-again", f.now.AddDate(0, 1, 0), header+noNIR.row("", "C50", "", ""))
	if sum.Opposed != 1 {
		t.Fatalf("upload by name after opposition: opposed %d", sum.Opposed)
	}
}

// TestGDPR_18_Restriction: a restricted person is kept but never
// re-identified (emergency refused, recontact skips them) until lifted.
func TestGDPR_18_Restriction(t *testing.T) {
	f := newFixture(t)
	f.demo(t)
	svc := f.service(t, nil)
	loc, err := svc.Find(f.ctx, req("DPO-23"), subjNIR(f.C))
	if err != nil || len(loc.Pseudonyms) != 1 {
		t.Fatal(err, loc)
	}
	ps := loc.Pseudonyms[0]
	if _, err := svc.Restrict(f.ctx, req("DPO-23"), subjNIR(f.C)); err != nil {
		t.Fatal(err)
	}
	set, err := rights.Restricted(f.ctx, f.dpoWH)
	if err != nil || !set[ps] {
		t.Fatalf("registry: %v %v", err, set)
	}
	if _, err := svc.Emergency(f.ctx, rights.Request{Ref: "DPO-23", Reason: rights.ReasonEmergency}, ps, ""); !errors.Is(err, rights.ErrRestricted) {
		t.Fatalf("emergency on a restricted person: %v", err)
	}
	cs, err := svc.Recontact(f.ctx, rights.Request{Ref: "DPO-23", Reason: rights.ReasonRecontact}, `diagnosis == 'E11'`)
	if err != nil || len(cs) != 0 {
		t.Fatalf("recontact selected a restricted person: %v %d", err, len(cs))
	}
	if _, err := svc.Lift(f.ctx, req("DPO-23"), subjNIR(f.C)); err != nil {
		t.Fatal(err)
	}
	if set, _ := rights.Restricted(f.ctx, f.dpoWH); len(set) != 0 {
		t.Fatal("restriction not lifted")
	}
	if _, err := svc.Emergency(f.ctx, rights.Request{Ref: "DPO-23", Reason: rights.ReasonEmergency}, ps, ""); err != nil {
		t.Fatalf("emergency after lift: %v", err)
	}
}

// TestSEC_REI_4_MaxPerRequest: the policy's per-call limit refuses a
// recontact selecting more persons at once, within the daily limit.
func TestSEC_REI_4_MaxPerRequest(t *testing.T) {
	f := newFixture(t)
	f.demo(t)
	svc := f.service(t, func(o *rights.Options) { o.MaxPerDay = 20; o.MaxPerRequest = 2 })
	if _, err := svc.Recontact(f.ctx, rights.Request{Ref: "RC-1", Reason: rights.ReasonRecontact}, `diagnosis != ''`); !errors.Is(err, rights.ErrRateLimit) {
		t.Fatalf("3 persons in one call, limit 2: %v", err)
	}
	if _, err := svc.Recontact(f.ctx, rights.Request{Ref: "RC-2", Reason: rights.ReasonRecontact}, `diagnosis == 'E11'`); err != nil {
		t.Fatalf("1 person: %v", err)
	}
}
