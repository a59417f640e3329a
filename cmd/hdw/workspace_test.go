package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"hdw/masking/dcm"
	"hdw/synth"
	"hdw/warehouse"
)

func pulledPseudonyms(t *testing.T, dir string) map[string]bool {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "records.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	cols, err := warehouse.ReadTable(data, func(m map[string]string) error { out[m["pseudonym"]] = true; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cols, ",") != "pseudonym,image,body_site,diagnosis" { // issue 17: dictionary order
		t.Fatalf("SEC-ESP-2: columns not minimized: %v", cols)
	}
	return out
}

func readTree(t *testing.T, dir string) []byte {
	var b bytes.Buffer
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			d, _ := os.ReadFile(p)
			b.Write(d)
			b.WriteString(p)
		}
		return nil
	})
	return b.Bytes()
}

// TestSEC_ESP_Workspaces: minimization, own pseudonyms, cohort linkage,
// sealing between projects, refusals, verify and revoke.
func TestSEC_ESP_Workspaces(t *testing.T) {
	up := demoUpload()
	c := ingested(t, up, 3)
	cols := "diagnosis,body_site"
	c.must(0, "--profile", "curator", "workspace", "create", "alpha", "--approval", "CSE-2026-01", "--columns", cols)
	c.must(0, "--profile", "curator", "workspace", "create", "beta", "--approval", "CSE-2026-02", "--columns", cols, "--cohort", "heart")
	c.must(0, "--profile", "curator", "workspace", "create", "gamma", "--approval", "CSE-2026-03", "--columns", cols, "--cohort", "heart", "--where", "modality = 'CT'")
	ps := map[string]map[string]bool{}
	uids := map[string]map[string]bool{}
	uidRe := regexp.MustCompile(`2\.25\.[0-9]+`)
	// The warehouse's own pseudonyms and UIDs must not reach a workspace.
	cur, _ := c.openAs("curator")
	health := decryptPrefix(t, cur, "health/records/", "health")
	var warehouseIDs []string
	for _, line := range strings.Split(string(health), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && (k == "pseudonym" || k == "sop_uid" || k == "study_uid") && v != "" {
			warehouseIDs = append(warehouseIDs, v)
		}
	}
	if len(warehouseIDs) == 0 {
		t.Fatal("no warehouse ids")
	}
	for _, p := range []string{"alpha", "beta", "gamma"} {
		dir := filepath.Join(c.dir, "pull-"+p)
		c.must(0, "--profile", "researcher:"+p, "workspace", "pull", p, "--out", dir)
		ps[p] = pulledPseudonyms(t, dir)
		tree := readTree(t, dir)
		assertNoLeak(t, "pulled workspace "+p, tree, secrets(up))
		assertNoLeak(t, "pulled workspace "+p+" (warehouse pseudonyms and UIDs)", tree, warehouseIDs)
		uids[p] = map[string]bool{}
		for _, u := range uidRe.FindAll(tree, -1) {
			uids[p][string(u)] = true
		}
	}
	for u := range uids["alpha"] {
		if uids["beta"][u] && u != dcm.ImplementationClassUID {
			t.Fatal("SEC-ESP-1: two workspaces share a DICOM UID")
		}
	}
	if len(uids["alpha"]) == 0 {
		t.Fatal("no DICOM UIDs in the pulled images")
	}
	for p := range ps["alpha"] {
		if ps["beta"][p] || ps["gamma"][p] {
			t.Fatal("SEC-ESP-1: workspaces without a shared cohort share a pseudonym")
		}
	}
	shared := 0
	for p := range ps["gamma"] {
		if ps["beta"][p] {
			shared++
		}
	}
	if shared == 0 || shared != len(ps["gamma"]) {
		t.Fatalf("SEC-ESP-3: cohort workspaces must share pseudonyms (%d of %d)", shared, len(ps["gamma"]))
	}
	// Refusals.
	if code, _, _ := c.run("--profile", "researcher:alpha", "workspace", "pull", "beta", "--out", filepath.Join(c.dir, "x")); code != 1 {
		t.Fatal("researcher:alpha pulled beta")
	}
	if code, _, _ := c.run("--profile", "curator", "workspace", "create", "delta", "--columns", cols); code != 2 {
		t.Fatal("3.2.3.1: workspace without approval created")
	}
	if code, _, errOut := c.run("--profile", "curator", "workspace", "create", "delta", "--approval", "X", "--columns", "diagnosis,last_name"); code != 2 || !strings.Contains(errOut, "identifying") {
		t.Fatalf("identity column accepted: %d %s", code, errOut)
	}
	c.must(0, "--profile", "curator", "workspace", "create", "old", "--approval", "CSE-1", "--columns", cols, "--expires", "2020-01-01")
	if code, _, errOut := c.run("--profile", "researcher:old", "workspace", "pull", "old", "--out", filepath.Join(c.dir, "old")); code != 1 || !strings.Contains(errOut, "expired") {
		t.Fatalf("expired pull: %d %s", code, errOut)
	}
	out := c.must(0, "--profile", "curator", "workspace", "review")
	if !strings.Contains(out, "old") {
		t.Fatal("SEC-HAB-5: expired workspace not listed for review")
	}
	// Refresh adds what a later ingest brought, keeping pseudonyms.
	up2 := synth.NewUpload(synth.UploadSpec{Seed: 8, Patients: 3, DICOMPerPatient: 1})
	src2 := filepath.Join(c.dir, "upload2")
	writeUpload(t, src2, up2)
	c.must(0, "--profile", "ingest", "ingest", src2)
	out = c.must(0, "--profile", "curator", "workspace", "refresh", "beta")
	if !strings.Contains(out, "3 rows added") {
		t.Fatalf("refresh: %s", out)
	}
	dir := filepath.Join(c.dir, "pull-beta-2")
	c.must(0, "--profile", "researcher:beta", "workspace", "pull", "beta", "--out", dir)
	after := pulledPseudonyms(t, dir)
	for p := range ps["beta"] {
		if !after[p] {
			t.Fatal("refresh changed an existing pseudonym")
		}
	}
	c.must(0, "--profile", "curator", "workspace", "verify", "beta")
	// Verify detects a changed file; revoke removes data and keys.
	c.must(0, "--profile", "curator", "workspace", "verify", "alpha")
	img, _ := filepath.Glob(filepath.Join(c.env["HDW_WAREHOUSE"], "workspaces/alpha/images/*"))
	if len(img) == 0 {
		t.Fatal("no workspace images")
	}
	for _, p := range img {
		if ext := filepath.Ext(p); ext != ".dcm" && ext != ".jpg" && ext != ".png" {
			t.Fatalf("workspace image without its extension (issue 23): %s", filepath.Base(p))
		}
	}
	os.Remove(img[0])
	if code, _, _ := c.run("--profile", "curator", "workspace", "verify", "alpha"); code != 1 {
		t.Fatal("verify missed a removed file")
	}
	out = c.must(0, "--profile", "curator", "--json", "workspace", "revoke", "alpha")
	var rev struct {
		Revoked bool `json:"revoked"`
	}
	decodeJSON(t, out, &rev) // issue 23: --json on every command that prints
	if !rev.Revoked {
		t.Fatalf("revoke --json: %s", out)
	}
	if _, err := os.Stat(filepath.Join(c.env["HDW_CREDENTIALS"], "researcher_alpha")); !os.IsNotExist(err) {
		t.Fatal("revocation left the researcher's credentials file")
	}
	if code, _, _ := c.run("--profile", "researcher:alpha", "workspace", "pull", "alpha", "--out", filepath.Join(c.dir, "y")); code == 0 {
		t.Fatal("SEC-HAB-6: revoked workspace pulled")
	}
	left, _ := filepath.Glob(filepath.Join(c.env["HDW_WAREHOUSE"], "workspaces/alpha/images/*"))
	if len(left) != 0 {
		t.Fatal("revoked workspace data left")
	}
}
