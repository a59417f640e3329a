package rotation_test

import (
	"context"
	"testing"

	"hdw/keys"
	"hdw/rights"
	"hdw/rotation"
)

// fakeIndex is a workspace index in memory: project -> warehouse pseudonym
// -> rows.
type fakeIndex struct {
	rows    map[string]map[string]int
	notices []rights.WorkspaceNotice
}

func (x *fakeIndex) Projects(context.Context) ([]string, error) {
	var out []string
	for p := range x.rows {
		out = append(out, p)
	}
	return out, nil
}

func (x *fakeIndex) Find(_ context.Context, project string, ps []string) (int, error) {
	n := 0
	for _, p := range ps {
		n += x.rows[project][p]
	}
	return n, nil
}

func (x *fakeIndex) Erase(context.Context, string, []string) (rights.ObjectsProof, error) {
	return rights.ObjectsProof{}, nil
}

func (x *fakeIndex) Resolve(context.Context, string, string, []string) (string, error) {
	return "", nil
}

func (x *fakeIndex) Rename(_ context.Context, project, old, new string) (int, error) {
	n := x.rows[project][old]
	delete(x.rows[project], old)
	x.rows[project][new] += n
	return n, nil
}

func (x *fakeIndex) Notify(_ context.Context, project string, n rights.WorkspaceNotice) (rights.NoticeRef, error) {
	x.notices = append(x.notices, n)
	return rights.NoticeRef{Project: project, Kind: n.Kind}, nil
}

// TestSEC_PSE_1_RotationRekeysWorkspacesWhenAsked: without the flag a
// workspace keeps its pseudonyms and is counted as behind; with it, the
// owner's notice (old -> new) is recorded and every person renamed.
func TestSEC_PSE_1_RotationRekeysWorkspacesWhenAsked(t *testing.T) {
	f := newFixture(t)
	f.ingest(t, 1)
	old0, old1 := f.people[0].pseudonymAt(t, 1), f.people[1].pseudonymAt(t, 1)
	x := &fakeIndex{rows: map[string]map[string]int{"p1": {old0: 3, old1: 1}, "p2": {}}}
	dpo := prov(keys.ProfileDPO, 2)
	res, err := rotation.Run(f.ctx, f.wh(t, dpo), dpo, rotation.Options{Workspaces: x, Now: fixedNow})
	if err != nil || res.WorkspacesBehind != 1 || res.Workspaces != 0 || x.rows["p1"][old0] != 3 {
		t.Fatalf("not asked: %+v %v", res, err)
	}
	res, err = rotation.Run(f.ctx, f.wh(t, dpo), dpo, rotation.Options{Workspaces: x, RekeyWorkspaces: true, Now: fixedNow})
	if err != nil || res.Workspaces != 1 {
		t.Fatalf("asked: %+v %v", res, err)
	}
	new0, new1 := f.people[0].pseudonymAt(t, 2), f.people[1].pseudonymAt(t, 2)
	if x.rows["p1"][new0] != 3 || x.rows["p1"][new1] != 1 || x.rows["p1"][old0] != 0 {
		t.Fatalf("workspace not re-keyed: %v", x.rows["p1"])
	}
	if len(x.notices) != 1 || x.notices[0].Renamed[old0] != new0 || x.notices[0].Kind != "rotation" {
		t.Fatal("the owner's notice must record old -> new before the rename")
	}
	res, err = rotation.Run(f.ctx, f.wh(t, dpo), dpo, rotation.Options{Workspaces: x, RekeyWorkspaces: true, Now: fixedNow})
	if err != nil || res.Workspaces != 0 || len(x.notices) != 1 {
		t.Fatalf("rerun: %+v %v", res, err)
	}
}
