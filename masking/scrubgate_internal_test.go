package masking

import (
	"strings"
	"testing"
)

// scrubPatternsUngated is scrubPatterns without the needs of each pattern:
// every regular expression on every value.
func scrubPatternsUngated(s string) string {
	for _, pt := range textPatterns {
		s = pt.re.ReplaceAllString(s, pt.token)
	}
	return s
}

var gateSamples = []string{
	"MONOCHROME2", "Synth 1", "CT THORAX SANS INJECTION", "1 62 04 75 123 456 78", "162047512345678",
	"2 62 2A 75 123 456", "jean.dupont@exemple.fr", "a@b", "+33 6 12 34 56 78", "0033 6 12 34 56 78",
	"+3361", "06 12 34 56 78", "06.12.34.56.78", "1962-04-30", "30/04/1962", "1/4/62", "1.4.62",
	"30 avril 1962", "1er mai 2020", "75012", "2a123", "2A123", "93000 Saint-Denis", "0612345678",
	"+1 2 34 56", "00 1 2 34 56", "12-34", "1-2-34", "",
}

// TestIssue19_ScrubPatternGateSameOutput: skipping the regular
// expressions a value cannot match changes no output.
func TestIssue19_ScrubPatternGateSameOutput(t *testing.T) {
	for _, s := range gateSamples {
		if got, want := scrubPatterns(s), scrubPatternsUngated(s); got != want {
			t.Errorf("%q: gated %q, every pattern %q", s, got, want)
		}
	}
}

func FuzzScrubPatternGate(f *testing.F) {
	for _, s := range gateSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := scrubPatterns(s), scrubPatternsUngated(s); got != want {
			t.Fatalf("%q: gated %q, every pattern %q", s, got, want)
		}
	})
}

// holdsFirstWordFolded is the check mayHoldFirstWord replaces: the folded
// value searched for each identifier's first word.
func holdsFirstWordFolded(s string, ids []scrubID) bool {
	fs := foldString(s)
	for _, x := range ids {
		if strings.Contains(fs, x.words[0]) {
			return true
		}
	}
	return false
}

var wordSamples = []string{"DUBOIS^AMELIE", "dubois", "Dubois", "CT THORAX", "DUBOI", "Zélie", "ZELIE", "zélie LEFÈVRE",
	"LEFEVRE", "Saint-Denis", "SAINT DENIS", "12 RUE DES LILAS", "\xff\xfeDUBOIS", "", "D", "AMÉLIE"}

func wordPerson() Person {
	return Person{Identifiers: []Identifier{{Kind: "LAST_NAME", Value: "Dubois"}, {Kind: "FIRST_NAME", Value: "Amélie"},
		{Kind: "LAST_NAME", Value: "Lefèvre"}, {Kind: "FIRST_NAME", Value: "Zélie"}, {Kind: "CITY", Value: "Saint-Denis"},
		{Kind: "ADDRESS", Value: "12 rue des Lilas"}}}
}

// TestIssue19_FirstWordCheckSameAsFolded: the search without folding
// finds an identifier's first word exactly when the folded value holds it.
func TestIssue19_FirstWordCheckSameAsFolded(t *testing.T) {
	ids := newScrubIDs(wordPerson().Identifiers)
	for _, s := range wordSamples {
		if got, want := mayHoldFirstWord(s, ids), holdsFirstWordFolded(s, ids); got != want {
			t.Errorf("%q: %v, folded search %v", s, got, want)
		}
	}
	if mayHoldFirstWord("DUBOIS", nil) {
		t.Error("no identifiers, yet a word found")
	}
}

func FuzzFirstWordCheck(f *testing.F) {
	for _, s := range wordSamples {
		f.Add(s)
	}
	ids := newScrubIDs(wordPerson().Identifiers)
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := mayHoldFirstWord(s, ids), holdsFirstWordFolded(s, ids); got != want {
			t.Fatalf("%q: %v, folded search %v", s, got, want)
		}
	})
}
