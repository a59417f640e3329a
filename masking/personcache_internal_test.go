package masking

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestIssue19_SameIdentifiersLikeEqual: the person cache's comparison,
// which takes strings at the same address as equal without comparing
// them, is slices.Equal, for lists sharing their strings, holding equal
// strings elsewhere in memory, and differing in one byte or one length.
func TestIssue19_SameIdentifiersLikeEqual(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 2))
	word := func() string { return strings.Repeat(string(rune('a'+r.IntN(3))), r.IntN(4)) }
	for n := range 3000 {
		a := make([]Identifier, r.IntN(5))
		for i := range a {
			a[i] = Identifier{Kind: word(), Value: word()}
		}
		b := slices.Clone(a) // the same strings
		switch n % 4 {
		case 1: // equal strings, other addresses
			for i := range b {
				b[i] = Identifier{Kind: strings.Clone(b[i].Kind), Value: strings.Clone(b[i].Value)}
			}
		case 2: // one value changed (maybe to an equal one)
			if len(b) > 0 {
				b[r.IntN(len(b))].Value = word()
			}
		case 3: // one fewer
			if len(b) > 0 {
				b = b[1:]
			}
		}
		if got, want := sameIdentifiers(a, b), slices.Equal(a, b); got != want {
			t.Fatalf("%q and %q: sameIdentifiers %v, slices.Equal %v", a, b, got, want)
		}
	}
}

// TestIssue19_SpellerLikeSpells: a Speller, one scanner for many values,
// answers for each value what Spells answers for it alone (no state from
// one value reaches the next), and again after Close.
func TestIssue19_SpellerLikeSpells(t *testing.T) {
	p := Person{Pseudonym: "PSEUDO7Q2X", Identifiers: []Identifier{{Kind: "BIRTH_DATE", Value: "1957-03-23"},
		{Kind: "NIR", Value: "1 57 03 75 000 123 45"}, {Kind: "LAST_NAME", Value: "Dubois"}, {Kind: "CITY", Value: "Lyon"}}}
	vals := []string{"2.25.3065716427919570323767586158141455", "2.25.1", "19570323", "1957032", "2.25.1957", "",
		"LYON", "x.Lyon.", "Lyon", "2.25.157037500012345", "PSEUDO7Q2X", "DUBOIS^X", "2.25.23031957"}
	r := rand.New(rand.NewPCG(19, 4))
	for range 500 {
		b := make([]byte, r.IntN(50))
		for i := range b {
			b[i] = "0123456789.19570323"[r.IntN(19)]
		}
		vals = append(vals, string(b))
	}
	sp := NewSpeller(p)
	hits := 0
	for round := range 2 {
		for _, v := range vals {
			got, want := sp.Spells([]byte(v)), Spells([]byte(v), p)
			if got != want {
				t.Fatalf("round %d, %q: Speller %v, Spells %v", round, v, got, want)
			}
			if got {
				hits++
			}
		}
		sp.Close()
	}
	if hits == 0 || hits == 2*len(vals) {
		t.Fatalf("%d hits of %d: the values do not test both answers", hits, 2*len(vals))
	}
}
