package dcm

import "testing"

var titleSamples = []string{
	"Dr Martin", "dr Martin", "vu par Dr. Martin le 12", "docteur Martin", "Mme Dupont Marie", "M. Dupont",
	"CT THORAX SANS INJECTION", "M Dupont", "AM Dupont", "_M Dupont", "éM Dupont", "(Pr Durand)", "Pr\tDurand",
	"MONOCHROME2", "Synth 1", "Prof Élodie Durand", "Monsieur DUPONT", "", " ", "M",
}

func honorificUngated(s string) bool { return honorific.MatchString(s) }

// TestIssue19_TitleGateMissesNoTitle: a value that may hold a titled name
// whenever the honorific expression matches it.
func TestIssue19_TitleGateMissesNoTitle(t *testing.T) {
	for _, s := range titleSamples {
		if honorificUngated(s) && !mayHaveTitle(s) {
			t.Errorf("%q: titled name, gate says none", s)
		}
	}
	if mayHaveTitle("CT THORAX SANS INJECTION") {
		t.Error("a description without title runs the expression")
	}
}

func FuzzTitleGate(f *testing.F) {
	for _, s := range titleSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if honorificUngated(s) && !mayHaveTitle(s) {
			t.Fatalf("%q: titled name, gate says none", s)
		}
	})
}
