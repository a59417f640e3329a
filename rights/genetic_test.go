package rights_test

import (
	"errors"
	"testing"
	"time"

	"hdw/keys"
	"hdw/objstore"
	"hdw/rights"
	"hdw/warehouse"
)

// TestSEC_LOG_6_RightsRefuseGenetic: with the access table as both real
// providers enforce it, the dpo does not hold the genetic key. Find still
// answers (genetic rows are marked reserved, not counted) and access,
// which would need the genetic rows, refuses with keys.ErrGeneticReserved,
// whose message says to ask a curator for a prepared extract.
func TestSEC_LOG_6_RightsRefuseGenetic(t *testing.T) {
	f := newFixture(t)
	f.demo(t)
	strict := provider{f.ring, keys.ProfileDPO, false}
	wh, err := warehouse.Open(f.ctx, f.st, strict)
	if err != nil {
		t.Fatal(err)
	}
	s, err := rights.New(wh, strict, rights.Options{Now: func() time.Time { return f.now }, Operator: "dpo-test"})
	if err != nil {
		t.Fatal(err)
	}
	loc, err := s.Find(f.ctx, req("REQ-G1"), subjNIR(f.A))
	if err != nil {
		t.Fatalf("find: %v", err)
	}
	if !loc.Found || !loc.GeneticReserved || loc.Genetic != 0 || loc.Records != 3 {
		t.Fatalf("find: %+v", loc)
	}
	out, _ := objstore.NewLocal(t.TempDir())
	_, err = s.Access(f.ctx, req("REQ-G2"), subjNIR(f.A), out)
	if !errors.Is(err, keys.ErrGeneticReserved) || !errors.Is(err, keys.ErrForbidden) {
		t.Fatalf("access of genetic data by the dpo: %v, want keys.ErrGeneticReserved", err)
	}
}
