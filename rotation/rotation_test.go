package rotation_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"hdw/keys"
	"hdw/keys/keystest"
	"hdw/objstore"
	"hdw/policy"
	"hdw/rights"
	"hdw/rotation"
	"hdw/tables"
	"hdw/warehouse"
	"hdw/warehouse/warehousetest"
)

// rows returns the rows of every table under prefix (dpo or curator view).
func rows(t *testing.T, f *fixture, w *warehouse.Warehouse, store, prefix string) []map[string]string {
	t.Helper()
	var out []map[string]string
	for info, err := range f.st.List(f.ctx, prefix) {
		if err != nil {
			t.Fatal(err)
		}
		dek, err := w.DataKey(f.ctx, warehousetest.BatchOf(info.Key), store)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tables.ScanObject(f.ctx, f.st, info.Key, dek, tables.Query{}, func(r *tables.Row) error {
			out = append(out, r.Map(nil))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestSEC_PSE_1_KeyRotationRepseudonymizes is issue 22's "done when" for
// pseudonym-key rotation: after the admin's new key version, the dpo's run
// and the curator's run, the pseudonyms changed in every store (identity,
// health records, images and their folders, genetic), the joins across
// stores still hold, the old-to-new map (identity side) reverses them, a
// later ingest computes the rotated pseudonyms, no old pseudonym is left
// outside the map, no event names one, and a rerun changes nothing.
func TestSEC_PSE_1_KeyRotationRepseudonymizes(t *testing.T) {
	f := newFixture(t)
	f.ingest(t, 1)
	f.ingest(t, 1)
	dpo, cur := prov(keys.ProfileDPO, 2), prov(keys.ProfileCurator, 2)
	var events []string
	opt := rotation.Options{Now: func() time.Time { return time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC) },
		Event: func(ctx context.Context, action string, target map[string]string, counts map[string]int64) {
			events = append(events, fmt.Sprint(action, target, counts))
		}}

	res, err := rotation.Run(f.ctx, f.wh(t, dpo), dpo, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.To != 2 || res.Pending[keys.Genetic] != 2 || res.Images != 6 || res.Tables[keys.Identity] != 2 || res.Tables[keys.Health] != 2 {
		t.Fatalf("dpo run: %+v", res)
	}
	res, err = rotation.Run(f.ctx, f.wh(t, cur), cur, opt)
	if err != nil || !res.Done() || res.Tables[keys.Genetic] != 2 {
		t.Fatalf("curator run: %+v %v", res, err)
	}

	dw, cw := f.wh(t, dpo), f.wh(t, cur)
	var olds, news []string
	for _, p := range f.people {
		olds, news = append(olds, p.pseudonymAt(t, 1)), append(news, p.pseudonymAt(t, 2))
	}
	isNew := map[string]bool{}
	for _, n := range news {
		isNew[n] = true
	}
	byRecord := map[string]string{}
	for _, r := range rows(t, f, dw, keys.Identity, "identity/persons/") {
		if !isNew[r["pseudonym"]] {
			t.Fatal("identity row not at the new pseudonym")
		}
		byRecord[r["record_id"]] = r["pseudonym"]
	}
	health := rows(t, f, dw, keys.Health, "health/records/")
	if len(health) != 8 {
		t.Fatalf("%d health records", len(health))
	}
	for _, r := range health {
		if byRecord[r["record_id"]] != r["pseudonym"] {
			t.Fatal("health <-> identity join broken")
		}
		if ik := r["image_key"]; ik != "" && !strings.HasPrefix(ik, "health/images/"+r["pseudonym"]+"/") {
			t.Fatal("image key not under the new pseudonym")
		}
	}
	gen := rows(t, f, cw, keys.Genetic, "genetic/")
	if len(gen) != 2 {
		t.Fatalf("%d genetic rows", len(gen))
	}
	for _, r := range gen {
		if byRecord[r["record_id"]] != r["pseudonym"] || r["pseudonym"] != news[0] {
			t.Fatal("genetic <-> health join broken")
		}
	}
	snap := snapshot(t, f.st, dw)
	images := 0
	for key, vals := range snap {
		if strings.HasPrefix(key, "identity/rotation/") {
			continue // the map holds the old pseudonyms by design
		}
		if strings.HasPrefix(key, "health/images/") {
			images++
			if warehousetest.ContainsAny([]byte(vals[0]), news) == "" {
				t.Fatal("moved image does not carry the new pseudonym")
			}
		}
		if s := warehousetest.ContainsAny([]byte(key+strings.Join(vals, "\n")), olds); s != "" {
			t.Fatalf("%s still holds an old pseudonym", key)
		}
	}
	if images != 6 {
		t.Fatalf("%d images", images)
	}
	warehousetest.CheckCommits(t, dw)
	warehousetest.CheckCommits(t, cw)

	// The map reverses the rotation.
	for i := range f.people {
		old, ok, err := rotation.Reverse(f.ctx, dw, 2, news[i])
		if err != nil || !ok || old != olds[i] {
			t.Fatalf("map does not reverse person %d: %v", i, err)
		}
	}
	n := 0
	if err := rotation.ReadMap(f.ctx, dw, 2, func(o, nw string) error { n++; return nil }); err != nil || n != 6 {
		t.Fatalf("map: %d pairs, %v", n, err)
	}
	if _, _, err := rotation.Reverse(f.ctx, f.wh(t, cur), 2, news[0]); err == nil {
		t.Fatal("the curator must not read the map (identity key)")
	}

	// Events: counts and batch ids only.
	if len(events) == 0 {
		t.Fatal("no audit event")
	}
	if s := warehousetest.ContainsAny([]byte(strings.Join(events, "\n")), append(olds, news...)); s != "" {
		t.Fatal("an event names a pseudonym")
	}

	// A rerun changes nothing; a later ingest joins the rotated rows.
	before := snapshot(t, f.st, dw)
	for _, p := range []keystest.Derived{dpo, cur} {
		res, err := rotation.Run(f.ctx, f.wh(t, p), p, opt)
		if err != nil || res.Rows != 0 || res.Images != 0 {
			t.Fatalf("rerun as %s: %+v %v", p.As, res, err)
		}
	}
	if fmt.Sprint(before) != fmt.Sprint(snapshot(t, f.st, dw)) {
		t.Fatal("a rerun changed the warehouse")
	}
	f.ingest(t, 2)
	for _, r := range rows(t, f, dw, keys.Identity, "identity/persons/") {
		if !isNew[r["pseudonym"]] {
			t.Fatal("an ingest after the rotation computes another pseudonym")
		}
	}
	res, err = rotation.Run(f.ctx, f.wh(t, dpo), dpo, opt)
	if err != nil || res.Rows != 0 {
		t.Fatalf("a batch ingested at the new version must not rotate again: %+v %v", res, err)
	}
}

// TestSEC_PSE_1_RotationMapExpires: the map is kept for the policy's
// months, then removed.
func TestSEC_PSE_1_RotationMapExpires(t *testing.T) {
	f := newFixture(t)
	f.ingest(t, 1)
	dpo := prov(keys.ProfileDPO, 2)
	start := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	if _, err := rotation.Run(f.ctx, f.wh(t, dpo), dpo, rotation.Options{Now: func() time.Time { return start }, MapMonths: 6}); err != nil {
		t.Fatal(err)
	}
	if v, err := rotation.ExpireMaps(f.ctx, f.st, start.AddDate(0, 5, 0)); err != nil || len(v) != 0 {
		t.Fatalf("expired early: %v %v", v, err)
	}
	// hdw retention apply removes them too (a dry run first: nothing goes).
	late := func() time.Time { return start.AddDate(0, 6, 1) }
	rep, err := rights.ApplyRetention(f.ctx, f.wh(t, dpo), rights.RetentionOptions{Years: 20, Now: late, DryRun: true, StartEvent: policy.StartIngest})
	if err != nil || len(rep.RotationMaps) != 1 {
		t.Fatalf("retention dry run: %+v %v", rep, err)
	}
	if v, err := rotation.ExpireMaps(f.ctx, f.st, start.AddDate(0, 6, 1)); err != nil || len(v) != 1 || v[0] != 2 {
		t.Fatalf("expire: %v %v", v, err)
	}
	for info := range f.st.List(f.ctx, "identity/rotation/") {
		t.Fatalf("%s left after expiry", info.Key)
	}
}

// TestRotationRefusesDuringIngest: a lease in pending/ stops the rotation.
func TestRotationRefusesDuringIngest(t *testing.T) {
	f := newFixture(t)
	f.ingest(t, 1)
	objstore.WriteJSON(f.ctx, f.st, warehouse.PendingKey("b"), map[string]string{})
	dpo := prov(keys.ProfileDPO, 2)
	if _, err := rotation.Run(f.ctx, f.wh(t, dpo), dpo, rotation.Options{}); err != rotation.ErrIngestRunning {
		t.Fatalf("got %v", err)
	}
}

// TestSEC_REI_4_ErasureReachesRotationMap: erasing a person after a
// rotation removes their old -> new pairs from the map too, and the
// deletion proof counts them.
func TestSEC_REI_4_ErasureReachesRotationMap(t *testing.T) {
	f := newFixture(t)
	f.noGenetic = true
	f.ingest(t, 1)
	f.ingest(t, 1)
	dpo := prov(keys.ProfileDPO, 2)
	if _, err := rotation.Run(f.ctx, f.wh(t, dpo), dpo, rotation.Options{Now: fixedNow}); err != nil {
		t.Fatal(err)
	}
	p := f.people[1]
	svc, err := rights.New(f.wh(t, dpo), dpo, rights.Options{Now: fixedNow, Operator: "dpo-test"})
	if err != nil {
		t.Fatal(err)
	}
	proof, err := svc.Erase(f.ctx, rights.Request{Ref: "DPO-2026-100"}, rights.Subject{LastName: p.last, FirstName: p.first, BirthDate: p.birth, Sex: p.sex})
	if err != nil || !proof.Verified {
		t.Fatalf("erase: %+v %v", proof, err)
	}
	if proof.Counts["rotation_map_pairs"] != 2 {
		t.Fatalf("map pairs erased: %d, want 2 (one per batch)", proof.Counts["rotation_map_pairs"])
	}
	if _, ok, err := rotation.Reverse(f.ctx, f.wh(t, dpo), 2, p.pseudonymAt(t, 2)); err != nil || ok {
		t.Fatalf("the erased person is still in the map: %v", err)
	}
	if _, ok, _ := rotation.Reverse(f.ctx, f.wh(t, dpo), 2, f.people[2].pseudonymAt(t, 2)); !ok {
		t.Fatal("another person's pair went too")
	}
}

// TestCNIL_7_2_RetentionRemovesBatchMaps: when a batch's retention period
// ends, its map of a rotation goes with it (the batch's data key goes too).
func TestCNIL_7_2_RetentionRemovesBatchMaps(t *testing.T) {
	f := newFixture(t)
	f.ingest(t, 1)
	dpo := prov(keys.ProfileDPO, 2)
	if _, err := rotation.Run(f.ctx, f.wh(t, dpo), dpo, rotation.Options{Now: fixedNow, MapMonths: 60}); err != nil {
		t.Fatal(err)
	}
	later := func() time.Time { return time.Date(2028, 6, 1, 0, 0, 0, 0, time.UTC) }
	rep, err := rights.ApplyRetention(f.ctx, f.wh(t, dpo), rights.RetentionOptions{Years: 1, Now: later, StartEvent: policy.StartIngest})
	if err != nil || len(rep.Batches) != 1 || len(rep.RotationMaps) != 0 {
		t.Fatalf("retention: %+v %v", rep, err)
	}
	for info := range f.st.List(f.ctx, "identity/rotation/") {
		t.Fatalf("%s left after its batch expired", info.Key)
	}
}
