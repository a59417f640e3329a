// Command photobench de-identifies every photo of a folder into another
// folder with hdw's photo handler and prints files/s and MB/s, for
// bench/peers-photo.sh. With -synth N it writes N synthetic camera photos
// (synth.PhotoSpec.Camera: textured, quality 90, EXIF with GPS, maker note
// and thumbnail, XMP, IPTC, MPF, COM, trailer) of the -sizes mix, plus
// -png text-laden PNGs, into the input folder instead.
//
// Files are streamed as in the ingest: each worker opens the input file,
// creates the output file, runs masking.Deidentifier.Deidentify (sniffing,
// the photo handler, the residual scan) from the one to the other through
// a buffered writer, and closes both. -j workers (default runtime.NumCPU())
// run in parallel. Face detection is off unless -faces (exiftool detects
// no faces). The residual scan looks for the identifiers of the person of
// each file, as the ingest does; -scan=false gives it no identifiers (the
// metadata stripping alone).
//
// -copy copies each file unchanged instead (io.Copy from file to file, in
// the kernel on Linux), with the same workers: the fastest any tool that
// writes a new file per photo can go, the ceiling of a speed ratio.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"hdw/bench/cmd/internal/benchrun"
	"hdw/internal/runtimetune"
	"hdw/masking"
	"hdw/masking/photo"
	"hdw/synth"
)

// sizes maps a megapixel count to camera dimensions (4:3, or 3:2 at 24 MP).
var sizes = map[int][2]int{1: {1152, 864}, 2: {1632, 1224}, 5: {2592, 1944}, 8: {3264, 2448}, 12: {4000, 3000},
	16: {4608, 3456}, 20: {5472, 3648}, 24: {6000, 4000}}

type options struct {
	in, out    string
	nsynth     int
	sizes      []int
	npng       int
	workers    int
	faces      bool
	scan       bool
	cpuprofile string
	copy       bool
}

func main() {
	var o options
	var sizeList string
	flag.StringVar(&o.in, "in", "", "input folder")
	flag.StringVar(&o.out, "out", "", "output folder (created)")
	flag.IntVar(&o.nsynth, "synth", 0, "write N synthetic camera JPEGs (round robin over -sizes) into -in, then exit")
	flag.StringVar(&sizeList, "sizes", "2,8,12,24", "megapixels of the synthetic JPEGs, comma-separated (1,2,5,8,12,16,20,24)")
	flag.IntVar(&o.npng, "png", 0, "with -synth: also write N synthetic 2 MP PNGs with text chunks")
	flag.IntVar(&o.workers, "j", runtime.NumCPU(), "parallel workers")
	flag.BoolVar(&o.faces, "faces", false, "also run face detection (exiftool does not)")
	flag.BoolVar(&o.scan, "scan", true, "give the residual scan each file's person identifiers, as the ingest does")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the run to this file")
	flag.BoolVar(&o.copy, "copy", false, "copy the files unchanged (the copy floor: no parsing, no rewriting)")
	flag.Parse()
	runtimetune.Ingest(os.Getenv) // as hdw ingest
	for _, s := range strings.Split(sizeList, ",") {
		mp, err := strconv.Atoi(strings.TrimSpace(s))
		if _, ok := sizes[mp]; err != nil || !ok {
			fmt.Fprintf(os.Stderr, "photobench: unknown size %q in -sizes\n", s)
			os.Exit(2)
		}
		o.sizes = append(o.sizes, mp)
	}
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "photobench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if o.in == "" {
		return errors.New("-in is required")
	}
	if o.nsynth > 0 || o.npng > 0 {
		return generate(o)
	}
	if o.out == "" {
		return errors.New("-out is required")
	}
	stop, err := benchrun.CPUProfile(o.cpuprofile)
	if err != nil {
		return err
	}
	defer stop()
	return deidentifyAll(ctx, o)
}

// people returns the synthetic persons of the corpus (file i belongs to
// people[i]).
func people(n int) []synth.Person {
	r := rand.New(rand.NewPCG(9, 9))
	out := make([]synth.Person, n)
	for i := range out {
		out[i] = synth.NewPerson(r, i)
	}
	return out
}

// generate writes the corpus: o.nsynth JPEGs named pNNNNN-XXmp.jpg, the
// sizes taken in turn, and o.npng PNGs pNNNNN-png.png. Each size is encoded
// once (synth.JPEGs); every file carries its own person's metadata.
func generate(o options) error {
	if err := os.MkdirAll(o.in, 0o755); err != nil {
		return err
	}
	ps := people(o.nsynth + o.npng)
	for k, mp := range o.sizes {
		var idx []int
		for i := k; i < o.nsynth; i += len(o.sizes) {
			idx = append(idx, i)
		}
		var who []synth.Person
		for _, i := range idx {
			who = append(who, ps[i])
		}
		d := sizes[mp]
		spec := synth.PhotoSpec{W: d[0], H: d[1], Camera: true, Seed: uint64(mp)}
		err := synth.JPEGs(spec, who, func(j int, b []byte) error {
			return os.WriteFile(filepath.Join(o.in, fmt.Sprintf("p%05d-%02dmp.jpg", idx[j], mp)), b, 0o644)
		})
		if err != nil {
			return err
		}
	}
	for i := o.nsynth; i < o.nsynth+o.npng; i++ {
		f, err := os.Create(filepath.Join(o.in, fmt.Sprintf("p%05d-png.png", i)))
		if err != nil {
			return err
		}
		bw := bufio.NewWriter(f)
		err = synth.TextPNG(bw, ps[i], 1632, 1224)
		if err == nil {
			err = bw.Flush()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// personOf is the masking view of a file's person, as pipeline.PersonOf
// builds it from a manifest row: pseudonym and identifying values.
func personOf(name string, ps []synth.Person, scan bool) masking.Person {
	mp := masking.Person{Pseudonym: "BENCHPSEUDONYM" + strings.Repeat("A", 18)}
	if !scan {
		return mp
	}
	i, err := strconv.Atoi(strings.TrimPrefix(strings.SplitN(name, "-", 2)[0], "p"))
	if err != nil || i < 0 || i >= len(ps) {
		i = 0
	}
	p := ps[i]
	mp.Identifiers = benchrun.Identifiers(p, masking.Identifier{Kind: "FILE_NAME", Value: strings.TrimSuffix(name, filepath.Ext(name))})
	return mp
}

func deidentifyAll(ctx context.Context, o options) error {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(o.in)
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	ps := people(len(names))
	d := masking.New(photo.New(photo.Config{}))
	mo := masking.Options{Faces: o.faces}
	bws := make([]*bufio.Writer, max(1, o.workers))
	for w := range bws {
		bws[w] = bufio.NewWriterSize(nil, 256<<10)
	}
	start := time.Now()
	c, err := benchrun.Run(o.workers, len(names), func(w, i int) (n int64, ok bool, err error) {
		name := names[i]
		if o.copy {
			n, ok, err = benchrun.File(ctx, benchrun.Copy{}, nil, masking.Person{}, mo, filepath.Join(o.in, name), filepath.Join(o.out, name))
		} else {
			n, ok, err = benchrun.File(ctx, d, bws[w], personOf(name, ps, o.scan), mo, filepath.Join(o.in, name), filepath.Join(o.out, name))
		}
		if err != nil {
			return 0, false, fmt.Errorf("%s: %w", name, err)
		}
		return n, ok, nil
	})
	if err != nil {
		return err
	}
	el := time.Since(start).Seconds()
	onOff := map[bool]string{true: "on", false: "off"}
	if o.copy {
		fmt.Printf("copy workers=%d files=%d bytes=%d seconds=%.3f files_per_s=%.1f mb_per_s=%.1f\n",
			o.workers, c.Files, c.Bytes, el, float64(c.Files)/el, float64(c.Bytes)/1e6/el)
		return nil
	}
	fmt.Printf("hdw workers=%d faces=%s residual_scan_identifiers=%s files=%d clean=%d quarantined=%d bytes=%d seconds=%.3f files_per_s=%.1f mb_per_s=%.1f\n",
		o.workers, onOff[o.faces], onOff[o.scan], c.Files, c.Clean, c.Quarantined, c.Bytes, el,
		float64(c.Files)/el, float64(c.Bytes)/1e6/el)
	if q := c.Quarantined; q > 0 {
		return fmt.Errorf("%d files quarantined", q)
	}
	return nil
}
