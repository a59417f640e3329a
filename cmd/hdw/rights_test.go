package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hdw/keys"
	"hdw/pipeline"
	"hdw/pseudo"
	"hdw/rights"
	"hdw/synth"
)

// nameFlags returns the name flags of a person with accents removed and
// case changed, as a DPO might type them (SEC-REI-1).
func nameFlags(p synth.Person) []string {
	sex := map[string]string{"M": "1", "F": "2"}[p.Sex]
	return []string{"--last-name", strings.ToLower(pseudo.Normalize(p.BirthName)), "--first-name", strings.ToUpper(p.FirstName),
		"--birth-date", p.BirthDate, "--sex", sex}
}

func personSecrets(ps ...synth.Person) []string {
	var out []string
	for _, p := range ps {
		for _, v := range p.Identifiers() {
			if len(v) >= 4 {
				out = append(out, v)
			}
		}
	}
	return out
}

// ownSecrets returns the identifying strings of p that no other person
// shares (a city or a common last name may belong to someone else too).
func ownSecrets(p synth.Person, all []synth.Person) []string {
	var out []string
	for _, v := range personSecrets(p) {
		shared := false
		for _, o := range all {
			if o.NIR == p.NIR {
				continue
			}
			for _, w := range append(o.Identifiers(), o.City) {
				shared = shared || w == v
			}
		}
		if !shared {
			out = append(out, v)
		}
	}
	return out
}

// TestSEC_REI_1_RightsEndToEnd runs the DPO's procedures on the demo
// upload: find by NIR and by name (accents and case varied), access, erase
// then find nothing, oppose then a new upload skips the person, and checks
// that no identity reaches the output or the audit trail.
func TestSEC_REI_1_RightsEndToEnd(t *testing.T) {
	up := withoutGenetic(demoUpload()) // SEC-LOG-6: the dpo holds no genetic key
	c := ingested(t, up, 3)
	p0, p1, p2 := up.Persons[0], up.Persons[1], up.Persons[2]
	dpo := []string{"--profile", "dpo", "--json"}

	var byNIR, byName rights.Location
	decodeJSON(t, c.must(0, append(dpo, "rights", "find", "--request", "DPO-2026-001", "--nir", p0.NIR)...), &byNIR)
	decodeJSON(t, c.must(0, append(append(dpo, "rights", "find", "--request", "DPO-2026-001"), nameFlags(p0)...)...), &byName)
	if !byNIR.Found || byNIR.Records != 3 || byNIR.Images != 3 || len(byNIR.Pseudonyms) != 1 {
		t.Fatalf("find by NIR: %+v", byNIR)
	}
	if !byName.Found || byName.Pseudonyms[0] != byNIR.Pseudonyms[0] || byName.Records != byNIR.Records {
		t.Fatalf("find by name: %+v", byName)
	}

	pkg := filepath.Join(c.dir, "package")
	c.must(0, "--profile", "dpo", "rights", "access", "--request", "DPO-2026-001", "--nir", p0.NIR, "--out", pkg)
	for _, f := range []string{"identity.csv", "identity.parquet", "health.csv", "health.parquet", "projects.csv", "summary.txt"} {
		if _, err := os.Stat(filepath.Join(pkg, f)); err != nil {
			t.Errorf("access package lacks %s", f)
		}
	}
	if imgs, _ := filepath.Glob(filepath.Join(pkg, "images", "*")); len(imgs) != 3 {
		t.Errorf("access package has %d images, want 3", len(imgs))
	}
	id, _ := os.ReadFile(filepath.Join(pkg, "identity.csv"))
	if !bytes.Contains(id, []byte(p0.NIR)) || bytes.Contains(id, []byte(p1.NIR)) {
		t.Error("identity.csv must hold the person's entry only")
	}

	var proof rights.Proof
	decodeJSON(t, c.must(0, append(append(dpo, "rights", "erase", "--request", "DPO-2026-002"), nameFlags(p0)...)...), &proof)
	if !proof.Verified || proof.Counts["records"] != 3 || proof.Counts["images"] != 3 {
		t.Fatalf("erase: %+v", proof)
	}
	var after rights.Location
	decodeJSON(t, c.must(0, append(dpo, "rights", "find", "--request", "DPO-2026-002", "--nir", p0.NIR)...), &after)
	if after.Found {
		t.Fatal("found after erasure")
	}
	wh, _ := c.openAs(keys.ProfileDPO)
	// identity/professionals is left out: a physician may share a patient's last name.
	var plain []byte
	whCur, _ := c.openAs(keys.ProfileCurator) // SEC-LOG-6: the curator reads the genetic store
	for _, s := range []struct{ prefix, store string }{{"health/", keys.Health}, {"identity/persons/", keys.Identity}, {"genetic/", keys.Genetic}} {
		from := wh
		if s.store == keys.Genetic {
			from = whCur
		}
		plain = append(plain, decryptPrefix(t, from, s.prefix, s.store)...)
	}
	assertNoLeak(t, "decrypted stores after erasure", plain, ownSecrets(p0, up.Persons))
	if !bytes.Contains(plain, []byte(p1.NIR)) {
		t.Fatal("other persons must stay")
	}

	// Opposition, then a new upload containing the person.
	c.must(0, append([]string{"--profile", "dpo", "rights", "oppose", "--request", "DPO-2026-003"}, nameFlags(p1)...)...)
	src2 := filepath.Join(c.dir, "upload2")
	os.MkdirAll(src2, 0o755)
	m := "file,nir,last_name,first_name,birth_date,sex,diagnosis\n" +
		"," + p1.NIR + "," + p1.LastName + "," + p1.FirstName + "," + p1.BirthDate + "," + p1.Sex + ",I10\n" +
		"," + p2.NIR + "," + p2.LastName + "," + p2.FirstName + "," + p2.BirthDate + "," + p2.Sex + ",I10\n"
	os.WriteFile(filepath.Join(src2, "manifest.csv"), []byte(m), 0o644)
	var sum pipeline.Summary
	decodeJSON(t, c.must(3, "--profile", "ingest", "--json", "ingest", src2), &sum)
	if sum.Opposed != 1 || sum.Ingested != 1 {
		t.Fatalf("ingest after opposition: %+v", sum)
	}
	decodeJSON(t, c.must(0, append(dpo, "rights", "find", "--request", "DPO-2026-003", "--nir", p1.NIR)...), &after)
	if after.Found {
		t.Fatal("opposed person stored again")
	}

	// Rectification of a non-basis field.
	c.must(0, "--profile", "dpo", "rights", "rectify", "--request", "DPO-2026-004", "--nir", p2.NIR, "--field", "phone", "--value", "0799999999")

	// No identity given by the DPO reaches the output or the audit trail.
	sec := append(personSecrets(p0, p1, p2), "0799999999")
	assertNoLeak(t, "command output", c.out.Bytes(), sec)
	assertNoLeak(t, "audit trail", readPrefix(t, c, "audit/"), sec)
	assertNoLeak(t, "rights ledger and proofs", readPrefix(t, c, "rights/"), sec)
	audit := readPrefix(t, c, "audit/")
	for _, a := range []string{"rights.find", "rights.access", "rights.erase", "rights.oppose", "rights.rectify", "DPO-2026-002", "proof_sha256"} {
		if !bytes.Contains(audit, []byte(a)) {
			t.Errorf("audit trail lacks %s", a)
		}
	}

	// Emergency re-identification (SEC-REI-3) prints the identity, by design.
	var p2loc rights.Location
	decodeJSON(t, c.must(0, append(dpo, "rights", "find", "--request", "DPO-2026-005", "--nir", p2.NIR)...), &p2loc)
	var ident rights.Identity
	decodeJSON(t, c.must(0, append(dpo, "reidentify", "--pseudonym", p2loc.Pseudonyms[0], "--request", "EMERG-1", "--reason", "emergency")...), &ident)
	if ident.Fields["nir"] != p2.NIR || ident.Fields["phone"] != "0799999999" {
		t.Fatal("emergency re-identification returned the wrong identity")
	}
	assertNoLeak(t, "audit trail after re-identification", readPrefix(t, c, "audit/"), sec)
}

// TestSEC_REI_4_SEC_REI_5_RightsRefused: a non-dpo profile, a missing request
// reference or reason, and a rate-limit breach are refused and audited.
func TestSEC_REI_4_SEC_REI_5_RightsRefused(t *testing.T) {
	c := newCLI(t)
	up := withoutGenetic(demoUpload()) // SEC-LOG-6: the dpo holds no genetic key
	src := filepath.Join(c.dir, "upload")
	writeUpload(t, src, up)
	cfg := filepath.Join(c.dir, "hdw.yaml")
	os.WriteFile(cfg, []byte("rights:\n  max_reidentifications_per_day: 2\n"), 0o600)
	c.env["HDW_CONFIG"] = cfg
	c.must(0, "init")
	c.must(3, "--profile", "ingest", "ingest", src)
	p := up.Persons
	cases := []struct {
		name string
		code int
		args []string
	}{
		{"curator", 1, []string{"--profile", "curator", "rights", "find", "--request", "R-1", "--nir", p[0].NIR}},
		{"researcher", 1, []string{"--profile", "researcher:cardio", "reidentify", "--pseudonym", strings.Repeat("a", 32), "--request", "R-1", "--reason", "emergency"}},
		{"no request", 2, []string{"--profile", "dpo", "rights", "find", "--nir", p[0].NIR}},
		{"request with a name", 2, []string{"--profile", "dpo", "rights", "find", "--request", "Mr " + p[0].LastName, "--nir", p[0].NIR}},
		{"no reason", 2, []string{"--profile", "dpo", "reidentify", "--pseudonym", strings.Repeat("a", 32), "--request", "R-1"}},
		{"bad reason", 2, []string{"--profile", "dpo", "reidentify", "--pseudonym", strings.Repeat("a", 32), "--request", "R-1", "--reason", "curiosity"}},
		{"no identity", 2, []string{"--profile", "dpo", "rights", "find", "--request", "R-1"}},
		{"partial names", 2, []string{"--profile", "dpo", "rights", "find", "--request", "R-1", "--last-name", p[0].LastName}},
		{"bad NIR key", 2, []string{"--profile", "dpo", "rights", "find", "--request", "R-1", "--nir", p[0].NIR[:13] + "00"}},
		{"first person", 0, []string{"--profile", "dpo", "rights", "find", "--request", "R-2", "--nir", p[0].NIR}},
		{"same person, same request", 0, []string{"--profile", "dpo", "rights", "access", "--request", "R-2", "--nir", p[0].NIR, "--out", filepath.Join(c.dir, "pkg")}},
		{"second person", 0, []string{"--profile", "dpo", "rights", "find", "--request", "R-3", "--nir", p[1].NIR}},
		{"third person: limit", 1, []string{"--profile", "dpo", "rights", "find", "--request", "R-4", "--nir", p[2].NIR}},
		{"bulk recontact: limit", 1, []string{"--profile", "dpo", "reidentify", "--criteria", "diagnosis != ''", "--request", "R-5", "--reason", "recontact"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := c.run(tc.args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, errOut)
			}
			if strings.Contains(tc.name, "limit") && !strings.Contains(errOut, "ALERT") {
				t.Fatalf("a breach must raise an alert: %s", errOut)
			}
		})
	}
	audit := readPrefix(t, c, "audit/")
	if n := bytes.Count(audit, []byte(`"outcome":"denied"`)); n < 5 {
		t.Errorf("audit trail has %d denied events", n)
	}
	if !bytes.Contains(audit, []byte(`"rights.alert"`)) {
		t.Error("audit trail lacks the rate-limit alert")
	}
	assertNoLeak(t, "audit trail", audit, personSecrets(p...))
	assertNoLeak(t, "command output", c.out.Bytes(), personSecrets(p...))
}

// TestCNIL_7_2_RetentionCLI: a dry run on a fresh warehouse keeps everything;
// only dpo and admin may run it.
func TestCNIL_7_2_RetentionCLI(t *testing.T) {
	c := ingested(t, demoUpload(), 3)
	var rep rights.RetentionReport
	decodeJSON(t, c.must(0, "--profile", "dpo", "--json", "retention", "apply", "--dry-run"), &rep)
	if len(rep.Batches) != 0 || rep.Kept != 1 || !rep.DryRun {
		t.Fatalf("%+v", rep)
	}
	// The sealed policy's default start event is the end of care: the
	// last visit dates are read, by the dpo (issue 21).
	c.must(1, "--profile", "admin", "retention", "apply")
	c.must(0, "--profile", "dpo", "retention", "apply")
	c.must(1, "--profile", "curator", "retention", "apply")
}
