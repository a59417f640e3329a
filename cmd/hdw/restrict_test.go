package main

import (
	"strings"
	"testing"

	"hdw/synth"
)

// TestGDPR_18_RestrictionCLI: a restricted person is kept but left out of
// new workspaces, exports and re-identifications until lifted (issue 21).
func TestGDPR_18_RestrictionCLI(t *testing.T) {
	up := synth.NewUpload(synth.UploadSpec{Seed: 18, Patients: 12, DICOMPerPatient: 1})
	c := ingested(t, up, 0)
	nir := up.Persons[2].NIR
	var loc struct {
		Pseudonyms []string `json:"pseudonyms"`
		Workspaces []struct {
			Project string `json:"project"`
		} `json:"workspaces"`
	}
	decodeJSON(t, c.must(0, "--profile", "dpo", "--json", "rights", "find", "--request", "DPO-18", "--nir", nir), &loc)
	c.must(0, "--profile", "dpo", "rights", "restrict", "--request", "DPO-18", "--nir", nir)
	c.must(0, "--profile", "curator", "workspace", "create", "w1", "--approval", "CSE-18", "--columns", "diagnosis,sex_code")
	decodeJSON(t, c.must(0, "--profile", "dpo", "--json", "rights", "find", "--request", "DPO-18", "--nir", nir), &loc)
	if len(loc.Workspaces) != 0 {
		t.Fatalf("a restricted person reached a new workspace: %+v", loc.Workspaces)
	}
	c.run("--profile", "curator", "export", "request", "p18", "--approval", "CSE-18", "--sensitive", "diagnosis", "--rules", "birth_year:drop,department:drop,visit_date:drop", "--k", "5")
	if !strings.Contains(string(auditPlain(t, c)), `"restricted_excluded":1`) {
		t.Error("the export did not leave the restricted person out")
	}
	if code, _, errOut := c.run("--profile", "dpo", "reidentify", "--pseudonym", loc.Pseudonyms[0], "--request", "EMERG-18", "--reason", "emergency"); code != 1 || !strings.Contains(errOut, "restricted") {
		t.Fatalf("emergency re-identification of a restricted person: %d %s", code, errOut)
	}
	c.must(0, "--profile", "dpo", "rights", "lift", "--request", "DPO-18", "--nir", nir)
	c.must(0, "--profile", "curator", "workspace", "create", "w2", "--approval", "CSE-18", "--columns", "diagnosis,sex_code")
	decodeJSON(t, c.must(0, "--profile", "dpo", "--json", "rights", "find", "--request", "DPO-18", "--nir", nir), &loc)
	if len(loc.Workspaces) != 1 || loc.Workspaces[0].Project != "w2" {
		t.Fatalf("after the lift: %+v", loc.Workspaces)
	}
}
