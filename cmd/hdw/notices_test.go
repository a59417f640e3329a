package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"hdw/pseudo"
	"hdw/rights"
	"hdw/workspaces"
)

// TestIssue21_WorkspaceNotices: a rectification that changes a person's
// pseudonym records the old -> new workspace pseudonym map, and an erasure
// a deletion notice, for the workspace's researcher; the researcher reads
// them with `workspace notices` and sees them at pull; the erasure proof
// lists the notice; both are audited; nothing identifying is in them.
func TestIssue21_WorkspaceNotices(t *testing.T) {
	up := withoutGenetic(demoUpload()) // SEC-LOG-6: the dpo holds no genetic key
	c := ingested(t, up, 3)
	c.must(0, "--profile", "curator", "workspace", "create", "nt", "--approval", "CSE-21", "--columns", "diagnosis,body_site")
	res := []string{"--profile", "researcher:nt"}
	pull := func(name string) (map[string]bool, string) {
		dir := filepath.Join(c.dir, name)
		out := c.must(0, append(res, "workspace", "pull", "nt", "--out", dir)...)
		return pulledPseudonyms(t, dir), out
	}
	type noticesOut struct {
		Workspace string              `json:"workspace"`
		Notices   []workspaces.Notice `json:"notices"`
	}
	notices := func() []workspaces.Notice {
		var ns noticesOut
		decodeJSON(t, c.must(0, append(res, "--json", "workspace", "notices", "nt")...), &ns)
		return ns.Notices
	}
	first, _ := pull("pull1")
	if len(notices()) != 0 {
		t.Fatal("notices before any request")
	}
	p0, p1 := up.Persons[0], up.Persons[1]
	k, _ := pseudo.NIRKey(p1.NIR[:10] + "999")
	newNIR := fmt.Sprintf("%s%02d", p1.NIR[:10]+"999", k)

	// Rectification: the map reverses the change of the pulled copy.
	var rep rights.RectifyReport
	decodeJSON(t, c.must(0, "--profile", "dpo", "--json", "rights", "rectify", "--request", "DPO-21-R", "--nir", p1.NIR, "--field", "nir", "--value", newNIR), &rep)
	if !rep.Repseudonymized || len(rep.WorkspaceMaps) != 1 || rep.WorkspaceMaps[0].Project != "nt" {
		t.Fatalf("rectify report: %+v", rep)
	}
	ns := notices()
	if len(ns) != 1 || ns[0].Kind != "rectification" || ns[0].Request != "DPO-21-R" || len(ns[0].Renames) != 1 {
		t.Fatalf("notices after rectification: %+v", ns)
	}
	second, _ := pull("pull2")
	reversed := map[string]bool{}
	inverse := map[string]string{}
	for o, n := range ns[0].Renames {
		inverse[n] = o
		if !first[o] || first[n] || !second[n] || second[o] {
			t.Fatal("the map does not name the pseudonym that changed")
		}
	}
	for p := range second {
		if o, ok := inverse[p]; ok {
			p = o
		}
		reversed[p] = true
	}
	if fmt.Sprint(reversed) != fmt.Sprint(first) {
		t.Fatal("the map does not reverse the change of the pulled copy")
	}

	// Erasure: a notice per workspace, listed in the proof.
	var proof rights.Proof
	decodeJSON(t, c.must(0, "--profile", "dpo", "--json", "rights", "erase", "--request", "DPO-21-E", "--nir", p0.NIR), &proof)
	if !proof.Verified || len(proof.Notices) != 1 || proof.Notices[0].Project != "nt" || proof.Notices[0].Kind != "erasure" || proof.Notices[0].Pseudonyms != 1 {
		t.Fatalf("proof notices: %+v", proof.Notices)
	}
	ns = notices()
	if len(ns) != 2 {
		t.Fatalf("notices after erasure: %+v", ns)
	}
	var er workspaces.Notice
	for _, n := range ns {
		if n.ID == proof.Notices[0].ID {
			er = n
		}
	}
	third, pullOut := pull("pull3")
	if er.Kind != "erasure" || er.Request != "DPO-21-E" || len(er.Delete) != 1 || !second[er.Delete[0]] || third[er.Delete[0]] {
		t.Fatalf("erasure notice: %+v", er)
	}
	if !strings.Contains(pullOut, "2 notices") || !strings.Contains(pullOut, "delete the rows of 1 pseudonyms") {
		t.Fatalf("pull does not show the notices:\n%s", pullOut)
	}
	text := c.must(0, "--profile", "curator", "workspace", "notices", "nt")
	if !strings.Contains(text, "delete "+er.Delete[0]) {
		t.Fatalf("curator listing:\n%s", text)
	}
	// Another researcher may not read them, and the refusal is audited.
	if code, _, _ := c.run("--profile", "researcher:other", "workspace", "notices", "nt"); code != 1 {
		t.Fatal("another researcher read the notices")
	}
	trail := string(readPrefix(t, c, "audit/"))
	for _, a := range []string{"workspace.notices", "workspace_maps", "nt:" + rep.WorkspaceMaps[0].ID, "workspace_notices", "nt:" + proof.Notices[0].ID} {
		if !strings.Contains(trail, a) {
			t.Errorf("audit trail lacks %s", a)
		}
	}
	all := text + pullOut + fmt.Sprint(ns) + string(readPrefix(t, c, "workspaces/nt/notices/"))
	assertNoLeak(t, "workspace notices", []byte(all), append(secrets(up), p1.NIR, newNIR))
}
