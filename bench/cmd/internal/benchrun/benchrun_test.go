package benchrun_test

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"hdw/bench/cmd/internal/benchrun"
	"hdw/masking"
	"hdw/synth"
)

func TestRunCounts(t *testing.T) {
	for _, workers := range []int{0, 1, 3} {
		c, err := benchrun.Run(workers, 10, func(_, i int) (int64, bool, error) { return int64(i), i%3 != 0, nil })
		if err != nil {
			t.Fatal(err)
		}
		if want := (benchrun.Counts{Files: 10, Clean: 6, Quarantined: 4, Bytes: 45}); c != want {
			t.Errorf("workers=%d: counts %+v, want %+v", workers, c, want)
		}
	}
}

func TestRunStopsAtFirstError(t *testing.T) {
	boom := errors.New("boom")
	for _, workers := range []int{1, 4} {
		_, err := benchrun.Run(workers, 100, func(_, i int) (int64, bool, error) {
			if i == 5 {
				return 0, false, boom
			}
			return 1, true, nil
		})
		if !errors.Is(err, boom) {
			t.Errorf("workers=%d: err %v, want boom", workers, err)
		}
	}
}

func TestIdentifiersSkipEmptyAndAppendExtra(t *testing.T) {
	p := synth.NewPerson(rand.New(rand.NewPCG(1, 1)), 0)
	p.Email = ""
	ids := benchrun.Identifiers(p, masking.Identifier{Kind: "OTHER", Value: "X"})
	if last := ids[len(ids)-1]; last.Kind != "OTHER" || last.Value != "X" {
		t.Errorf("last identifier %v, want the extra", last.Kind)
	}
	for _, id := range ids {
		if id.Value == "" || id.Kind == "EMAIL" {
			t.Errorf("kind %s with an empty value kept", id.Kind)
		}
	}
	if ids[0].Kind != "NIR" {
		t.Errorf("first kind %s, want NIR", ids[0].Kind)
	}
}

// TestCPUProfile: no path, no profile; a path gets a profile once stopped.
func TestCPUProfile(t *testing.T) {
	stop, err := benchrun.CPUProfile("")
	if err != nil {
		t.Fatal(err)
	}
	stop()
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	if stop, err = benchrun.CPUProfile(path); err != nil {
		t.Fatal(err)
	}
	stop()
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("profile not written: %v", err)
	}
}
