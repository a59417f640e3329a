package main

import (
	"bytes"
	"encoding/csv"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"hdw/rights"
	"hdw/synth"
)

// withoutGenetic blanks the genetic columns of an upload's manifest, for
// rights tests run as the dpo, which does not hold the genetic key
// (SEC-LOG-6, TestSEC_LOG_6_DPORightsRefuseGeneticCLI).
func withoutGenetic(up *synth.Upload) *synth.Upload {
	genetic := map[string]bool{"gene": true, "variant": true, "zygosity": true, "interpretation": true}
	for i, f := range up.Files {
		if f.Name != "manifest.csv" {
			continue
		}
		write := f.Write
		up.Files[i].Write = func(w io.Writer) error {
			var b bytes.Buffer
			if err := write(&b); err != nil {
				return err
			}
			rows, err := csv.NewReader(&b).ReadAll()
			if err != nil {
				return err
			}
			var cols []int
			for j, h := range rows[0] {
				if genetic[strings.ToLower(h)] {
					cols = append(cols, j)
				}
			}
			for _, r := range rows[1:] {
				for _, j := range cols {
					if j < len(r) {
						r[j] = ""
					}
				}
			}
			cw := csv.NewWriter(w)
			cw.WriteAll(rows)
			return cw.Error()
		}
	}
	return up
}

// TestSEC_LOG_6_DPORightsRefuseGeneticCLI: on a warehouse holding genetic
// data, the dpo's rights find answers with genetic_reserved (it cannot
// count genetic rows) and rights access refuses clearly: the genetic key is
// reserved to ingest and curator, ask a curator for a prepared extract.
func TestSEC_LOG_6_DPORightsRefuseGeneticCLI(t *testing.T) {
	up := demoUpload()
	c := ingested(t, up, 3)
	p0 := up.Persons[0]
	var loc rights.Location
	decodeJSON(t, c.must(0, "--profile", "dpo", "--json", "rights", "find", "--request", "DPO-G-1", "--nir", p0.NIR), &loc)
	if !loc.Found || !loc.GeneticReserved {
		t.Fatalf("find: %+v", loc)
	}
	code, _, errOut := c.run("--profile", "dpo", "rights", "access", "--request", "DPO-G-1", "--nir", p0.NIR, "--out", filepath.Join(c.dir, "pkg"))
	if code != 1 || !strings.Contains(errOut, "SEC-LOG-6") || !strings.Contains(errOut, "curator") {
		t.Fatalf("access: exit %d: %s", code, errOut)
	}
}
