// Command dcmbench de-identifies every file of a folder into another folder
// with hdw's DICOM masker and prints files/s and MB/s, for
// bench/peers-dicom.sh. With -synth N it writes N synthetic CT files
// (-size, -frames) into the input folder instead.
//
// Files are streamed from input to output as in the ingest: native pixel
// data is copied with io.Copy between the two files (in the kernel on
// Linux), only the elements before it are parsed.
//
// -copy copies each file unchanged instead (the same io.Copy from file to
// file, with the same workers): the fastest any tool that writes a new file
// per input can go, the ceiling of a speed ratio against a peer.
//
// UIDs are remapped as the ingest remaps them (pseudo.Keyed.UID, one
// clone per worker) with a key drawn at random for the run: the outputs
// are for measuring only.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"hdw/bench/cmd/internal/benchrun"
	"hdw/internal/runtimetune"
	"hdw/keys"
	"hdw/masking"
	"hdw/masking/dcm"
	"hdw/pseudo"
	"hdw/synth"
)

func main() {
	in := flag.String("in", "", "input folder")
	out := flag.String("out", "", "output folder (created)")
	nsynth := flag.Int("synth", 0, "write N synthetic CT slices of -size x -size pixels into -in first, then exit")
	synthSize := flag.Int("size", 512, "rows and columns of the synthetic slices")
	synthFrames := flag.Int("frames", 1, "frames of each synthetic file (e.g. 380 frames of 512x512: a 200 MB multi-frame CT)")
	workers := flag.Int("j", 1, "parallel workers")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run to this file")
	copyOnly := flag.Bool("copy", false, "copy the files unchanged (the copy floor: no parsing, no rewriting)")
	scan := flag.Bool("scan", false, "run the ingest's residual identifier scan over each output (masking.Deidentifier, with the identifiers of a synthetic person per file)")
	flag.Parse()
	runtimetune.Ingest(os.Getenv) // as hdw ingest
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "dcmbench:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "dcmbench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(context.Background(), *in, *out, *nsynth, *synthSize, *synthFrames, max(1, *workers), *scan, *copyOnly); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "dcmbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, in, out string, nsynth, synthSize, synthFrames, workers int, scan, copyOnly bool) error {
	if in == "" {
		return fmt.Errorf("-in is required")
	}
	if nsynth > 0 {
		if err := os.MkdirAll(in, 0o755); err != nil {
			return err
		}
		for i := 0; i < nsynth; i++ {
			var b bytes.Buffer
			s := synth.DICOMSpec{Modality: "CT", Rows: synthSize, Cols: synthSize, Frames: synthFrames, Marker: "BENCHMARKER",
				PatientName: fmt.Sprintf("SYNTH^P%04d", i/50), PatientID: fmt.Sprintf("SYN%05d", i/50),
				StudyUID:  fmt.Sprintf("1.2.826.0.1.3680043.10.1561.2.%d", i/50),
				SeriesUID: fmt.Sprintf("1.2.826.0.1.3680043.10.1561.3.%d", i/50),
				SOPUID:    fmt.Sprintf("1.2.826.0.1.3680043.10.1561.4.%d", i)}
			if err := synth.DICOM(&b, s); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(in, fmt.Sprintf("ct%05d.dcm", i)), b.Bytes(), 0o644); err != nil {
				return err
			}
		}
		return nil
	}
	if out == "" {
		return fmt.Errorf("-out is required")
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	wk, err := pseudo.New(keys.NewSecret(key))
	if err != nil {
		return err
	}
	// One keyed mapper per worker, as the ingest's workers have
	// (pipeline: wk.Clone()); a Keyed is not for concurrent use.
	opts := make([]masking.Options, workers)
	for w := range opts {
		opts[w] = masking.Options{UIDs: wk.Clone().UID}
	}
	entries, err := os.ReadDir(in)
	if err != nil {
		return err
	}
	var h benchrun.Deidentifier = dcm.New(dcm.Config{})
	if scan {
		h = masking.New(h.(*dcm.Handler))
	}
	if copyOnly {
		h = benchrun.Copy{}
	}
	// One person per 50 files (a series), built before the clock starts: the
	// ingest reads it from a manifest row, not from a generator.
	persons := make([]masking.Person, len(entries)/50+1)
	for g := range persons {
		persons[g] = personOf(g*50, scan)
	}
	var regular []int
	for i, e := range entries {
		if e.Type().IsRegular() {
			regular = append(regular, i)
		}
	}
	start := time.Now()
	c, err := benchrun.Run(workers, len(regular), func(w, k int) (int64, bool, error) {
		i := regular[k]
		return benchrun.File(ctx, h, nil, persons[i/50], opts[w], filepath.Join(in, entries[i].Name()), filepath.Join(out, fmt.Sprintf("%06d.dcm", i)))
	})
	if err != nil {
		return err
	}
	el := time.Since(start).Seconds()
	tool := "hdw"
	if copyOnly {
		tool = "copy"
	}
	fmt.Printf("%s workers=%d residual_scan=%v files=%d clean=%d quarantined=%d bytes=%d seconds=%.3f files_per_s=%.1f mb_per_s=%.1f\n",
		tool, workers, scan, c.Files, c.Clean, c.Quarantined, c.Bytes, el, float64(c.Files)/el, float64(c.Bytes)/1e6/el)
	return nil
}

// personOf is the person of file i: with scan, the identifiers of a
// synthetic person (as pipeline.PersonOf gives them from a manifest row)
// plus the names planted in the file, which the de-identification removes.
func personOf(i int, scan bool) masking.Person {
	p := masking.Person{Pseudonym: "BENCHPSEUDONYM" + strings.Repeat("A", 18), DateShiftDays: -10}
	if !scan {
		return p
	}
	sp := synth.NewPerson(mrand.New(mrand.NewPCG(uint64(i/50), 1)), i/50)
	p.Identifiers = benchrun.Identifiers(sp, masking.Identifier{Kind: "PATIENT_ID", Value: fmt.Sprintf("SYN%05d", i/50)},
		masking.Identifier{Kind: "OTHER", Value: "BENCHMARKER"})
	return p
}
