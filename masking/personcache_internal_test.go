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
