package rights_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"hdw/keys"
	"hdw/objstore"
	"hdw/policy"
	"hdw/rights"
	"hdw/warehouse"
	"hdw/warehouse/warehousetest"
)

// TestCNIL_7_2_Retention sets the clock forward: batches collected more than
// retention.health_years ago go (health, images, genetic, identity rows,
// data keys), later batches stay; a dry run deletes nothing.
func TestCNIL_7_2_Retention(t *testing.T) {
	f := newFixture(t)
	f.demo(t) // A, B, C collected at f.now
	later := f.now.AddDate(5, 0, 0)
	d := f.B
	d.last, d.first, d.birth = "Bonnet", "Zélie", "1990-07-07"
	d.address, d.phone, d.email = "5 chemin des Vignes", "0655443322", "zelie.bn@example.invalid"
	f.ingest(t, "upload2", later, header+d.row("d.img", "J45", "", "")+f.A.row("", "C50", "", ""), "d.img")
	commits, _ := f.dpoWH.Commits(f.ctx)
	if len(commits) != 2 {
		t.Fatal(len(commits))
	}
	old := commits[0].Batch
	clock := func() time.Time { return f.now.AddDate(20, 0, 1) }

	cases := []struct {
		name  string
		years int
		now   func() time.Time
		want  int
	}{
		{"nothing expired yet", 20, func() time.Time { return f.now.AddDate(19, 11, 0) }, 0},
		{"first batch expired", 20, clock, 1},
		{"shorter retention: both expired", 10, func() time.Time { return later.AddDate(10, 0, 1) }, 2},
	}
	for _, c := range cases {
		t.Run("dry run "+c.name, func(t *testing.T) {
			rep, err := rights.ApplyRetention(f.ctx, f.dpoWH, rights.RetentionOptions{Years: c.years, Now: c.now, DryRun: true})
			if err != nil || len(rep.Batches) != c.want || rep.Proof != nil {
				t.Fatal(err, rep)
			}
		})
	}
	f.st.PutIfAbsent(f.ctx, "workspaces/cardio/workspace.json", strings.NewReader(`{"project":"cardio","status":"active","batches":["`+old+`"]}`))
	f.st.PutIfAbsent(f.ctx, "workspaces/onco/workspace.json", strings.NewReader(`{"project":"onco","status":"active","batches":["`+commits[1].Batch+`"]}`))
	before := len(f.readPrefix(t, ""))
	if after := len(f.readPrefix(t, "")); after != before {
		t.Fatal("a dry run changed the warehouse")
	}

	rep, err := rights.ApplyRetention(f.ctx, f.dpoWH, rights.RetentionOptions{Years: 20, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Batches) != 1 || rep.Batches[0].Batch != old || rep.Kept != 1 || rep.Proof == nil || !rep.Proof.Verified ||
		len(rep.Workspaces) != 1 || rep.Workspaces[0] != "cardio" {
		t.Fatalf("report %+v", rep)
	}
	if rep.Proof.Counts["images"] != 4 || rep.Proof.Counts["records"] != 5 {
		t.Fatalf("proof counts %v", rep.Proof.Counts)
	}
	for _, k := range []string{warehouse.CommitKey(old), warehouse.HealthTableKey(old), warehouse.IdentityTableKey(old),
		warehouse.GeneticTableKey(old), warehouse.BatchKeysKey(old), warehouse.PendingKey(old)} {
		if _, err := f.st.Stat(f.ctx, k); !errors.Is(err, objstore.ErrNotExist) {
			t.Errorf("%s must be gone", k)
		}
	}
	for info := range f.st.List(f.ctx, "health/images/") {
		if strings.Contains(info.Key, "/"+old+"-") {
			t.Errorf("image of the expired batch left")
		}
	}
	s := f.service(t, func(o *rights.Options) { o.Now = clock })
	for _, c := range []struct {
		name  string
		subj  rights.Subject
		found bool
		recs  int
	}{
		{"B only in the expired batch", subjName(f.B), false, 0},
		{"C only in the expired batch", subjNIR(f.C), false, 0},
		{"A keeps the later record only", subjNIR(f.A), true, 1},
		{"D in the later batch", subjName(d), true, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			loc, err := s.Find(f.ctx, req("RET-1"), c.subj)
			if err != nil || loc.Found != c.found || loc.Records != c.recs {
				t.Fatalf("%v found=%v records=%d", err, loc.Found, loc.Records)
			}
		})
	}
	plain := f.decryptAll(t)
	if v := warehousetest.ContainsAny(plain, append(f.B.identifiers(), f.C.identifiers()...)); v != "" {
		t.Errorf("identity data of expired records left (%d chars)", len(v))
	}
	if _, err := rights.ApplyRetention(f.ctx, f.dpoWH, rights.RetentionOptions{Years: 25, Now: clock}); err == nil {
		t.Fatal("more than 20 years must be refused (CNIL 7.2)")
	}
	// Retention needs no data key: an admin can run it.
	adm := f.as(keys.ProfileAdmin)
	awh, _ := warehouse.Open(f.ctx, f.st, adm)
	if _, err := rights.ApplyRetention(f.ctx, awh, rights.RetentionOptions{Years: 20, Now: clock, DryRun: true}); err != nil {
		t.Fatal(err)
	}
}

// TestCNIL_7_2_RetentionStartEvent: the period runs from the policy's start
// event (issue 21), not from ingest: from the last visit (end of care), or
// from the end of the last project built from the batch.
func TestCNIL_7_2_RetentionStartEvent(t *testing.T) {
	f := newFixture(t)
	f.demo(t) // collected 2026-03-01; visits 2026-01-10 shifted back by at most a year
	clock := func() time.Time { return time.Date(2046, 1, 20, 0, 0, 0, 0, time.UTC) }
	for _, c := range []struct {
		event string
		want  int
	}{
		{policy.StartIngest, 0},
		{policy.StartEndOfCare, 1},
		{policy.StartEndOfProject, 0},
	} {
		rep, err := rights.ApplyRetention(f.ctx, f.dpoWH, rights.RetentionOptions{Years: 20, Now: clock, DryRun: true, StartEvent: c.event})
		if err != nil || len(rep.Batches) != c.want || rep.StartEvent != c.event {
			t.Fatalf("%s: %v %+v", c.event, err, rep)
		}
	}
	commits, _ := f.dpoWH.Commits(f.ctx)
	f.st.PutIfAbsent(f.ctx, "workspaces/cardio/workspace.json", strings.NewReader(`{"project":"cardio","status":"active","expires":"2027-06-30T00:00:00Z","batches":["`+commits[0].Batch+`"]}`))
	late := func() time.Time { return time.Date(2047, 1, 1, 0, 0, 0, 0, time.UTC) }
	rep, err := rights.ApplyRetention(f.ctx, f.dpoWH, rights.RetentionOptions{Years: 20, Now: late, DryRun: true, StartEvent: policy.StartEndOfProject})
	if err != nil || len(rep.Batches) != 0 {
		t.Fatalf("end of project 2027-06-30 + 20 years is after 2047-01-01: %v %+v", err, rep)
	}
}
