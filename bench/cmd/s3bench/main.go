// Command s3bench measures end-to-end ingest from an S3 server against a
// plain parallel download of the same objects with the same SDK (issues 9
// and 24). bench/peers-s3.sh starts the local S3 server and runs it
// (`make bench-s3`).
//
// It reads the S3 settings hdw reads (AWS_ENDPOINT_URL, AWS_REGION,
// HDW_S3_PATH_STYLE, the AWS credential chain) through
// s3store.ConfigFromEnv and builds every client with s3store.New, so the
// endpoint, path style, retries, timeouts, connection pool and part size
// are hdw's. For each corpus (-corpora: 900 CT slices, 8 large multi-frame
// CTs, 100 photos, the slices and the photos mixed; "custom" takes the
// -patients/-dicom/-photos/... flags) it:
//
//  1. uploads a synthetic client upload (synth.NewUpload's manifest and
//     names; images regenerated at the corpus's sizes with full metadata)
//     to s3://BUCKET/PREFIX-CORPUS/CLIENT/images/;
//  2. plain download: a child process of this binary lists that prefix and
//     GetObject + io.Copy(io.Discard) every object with W workers (W = hdw
//     ingest's default); then the same download writing each object to a
//     file of the folder that holds the warehouse, with one syncfs at the
//     end: the ceiling of any tool that keeps the bytes on that disk;
//  3. end-to-end ingest: the real hdw binary, `hdw init` of a fresh local
//     warehouse (passphrases in a credentials folder, never on a command
//     line) then `hdw ingest s3://BUCKET/PREFIX-CORPUS --client CLIENT`,
//     source not purged; runs alternate with the downloads, best of R;
//  4. hdw into an S3 warehouse (s3://BUCKET/PREFIX-CORPUS/warehouse), R runs;
//  5. one more ingest into a disk warehouse with HDW_CPUPROFILE, whose
//     samples are split by stage (profile.go); with -experiments, the
//     pipeline in-process in variants that isolate its costs (inproc.go).
//
// Figures, per corpus and in one table at the end: MB/s and objects/s of
// each, CPU seconds, cores used and peak RSS (VmHWM of the child read while
// it runs: what /usr/bin/time -f %M prints) of the download and of hdw, and
// the ratios of issue 24. Only synthetic data; nothing identifying is
// printed.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"hdw/configs"
	"hdw/objstore/s3store"
)

type options struct {
	bucket, prefix, client string
	corpora                []string
	custom                 corpus
	runs, workers          int
	explicitWorkers        bool
	hdwBin, tags           string
	before                 string // an earlier hdw binary, measured in alternation
	s3Warehouse            bool
	keep, skipUpload       bool
	profiles               bool
	cpuProfile             string
	experiments            bool
	inprocRuns             int
	server                 serverCPU
}

func main() {
	var o options
	var corpora string
	flag.StringVar(&o.bucket, "bucket", os.Getenv("HDW_S3_TEST_BUCKET"), "bucket (default $HDW_S3_TEST_BUCKET)")
	flag.StringVar(&o.prefix, "prefix", fmt.Sprintf("s3bench-%d", time.Now().UnixNano()), "prefix of the run in the bucket (each corpus under PREFIX-NAME)")
	flag.StringVar(&o.client, "client", "ACME", "client name: the upload goes to PREFIX-NAME/CLIENT/images/")
	flag.StringVar(&corpora, "corpora", "ct,multiframe,photos,mixed", "corpora to measure, comma-separated: ct, multiframe, photos, mixed, custom (the flags below)")
	flag.IntVar(&o.custom.patients, "patients", 100, "custom corpus: synthetic patients")
	flag.IntVar(&o.custom.dicomPer, "dicom", 9, "custom corpus: CTs per patient")
	flag.IntVar(&o.custom.photosPer, "photos", 1, "custom corpus: photos per patient")
	flag.IntVar(&o.custom.rows, "rows", 512, "custom corpus: CT rows")
	flag.IntVar(&o.custom.cols, "cols", 512, "custom corpus: CT columns")
	flag.IntVar(&o.custom.frames, "frames", 1, "custom corpus: CT frames")
	flag.IntVar(&o.custom.photoW, "photo-w", 1600, "custom corpus: photo width")
	flag.IntVar(&o.custom.photoH, "photo-h", 1200, "custom corpus: photo height")
	flag.IntVar(&o.runs, "runs", 3, "runs of the downloads and of the ingests (best of)")
	flag.IntVar(&o.workers, "workers", 0, "download and ingest workers (default: hdw ingest's default)")
	flag.StringVar(&o.hdwBin, "hdw", "", "prebuilt hdw binary (default: go build hdw/cmd/hdw into a temporary folder)")
	flag.StringVar(&o.tags, "tags", "", "build tags for hdw (e.g. ocr)")
	flag.StringVar(&o.before, "before", "", "an earlier hdw binary, measured in alternation with -hdw in every run (the table's \"before\" rows)")
	flag.BoolVar(&o.s3Warehouse, "s3-warehouse", true, "also ingest into an S3 warehouse")
	flag.BoolVar(&o.keep, "keep", false, "keep the uploaded objects and the S3 warehouse")
	flag.BoolVar(&o.skipUpload, "skip-upload", false, "reuse an upload already under -prefix (same corpora; with -keep it stays for the next run)")
	flag.BoolVar(&o.profiles, "profile", true, "one more hdw ingest per corpus with HDW_CPUPROFILE, its CPU split by stage")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "keep the CPU profiles as FILE-CORPUS (default: temporary)")
	flag.BoolVar(&o.experiments, "experiments", false, "also run in-process variants that isolate the ingest's costs")
	flag.IntVar(&o.inprocRuns, "inproc-runs", 2, "runs of each in-process variant (best of)")
	pid := flag.Int("server-pid", 0, "pid of the S3 server on this machine, to report its CPU time per phase (peers-s3.sh passes it)")
	childPrefix := flag.String("child-download", "", "internal: run one download of this prefix and print its result")
	childDir := flag.String("child-dir", "", "internal: with -child-download, write the objects to this folder")
	splitFiles := flag.String("split", "", "only print the profile split of these CPU profiles (comma-separated files) and exit")
	flag.Parse()
	ctx := context.Background()
	if *splitFiles != "" {
		for _, f := range strings.Split(*splitFiles, ",") {
			sp, err := splitProfile(f)
			if err != nil {
				fmt.Fprintln(os.Stderr, "s3bench:", err)
				os.Exit(1)
			}
			fmt.Printf("%s: %s\n", f, sp.format())
		}
		return
	}
	if *childPrefix != "" {
		if err := childDownload(ctx, o.bucket, *childPrefix, *childDir, o.workers); err != nil {
			fmt.Fprintln(os.Stderr, "s3bench download:", err)
			os.Exit(1)
		}
		return
	}
	o.server = serverCPU(*pid)
	o.custom.seed = 2026
	o.corpora = strings.Split(corpora, ",")
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "s3bench:", err)
		os.Exit(1)
	}
}

// defaultWorkers mirrors hdw ingest: --workers, else ingest.workers of the
// configuration (defaults here: the benchmark passes no config), else the
// automatic count for an S3 source.
func defaultWorkers() int {
	if w := configs.Defaults().Ingest.Workers; w > 0 {
		return w
	}
	return configs.AutoWorkers(true)
}

// corpusResult is the best of each measure on one corpus.
type corpusResult struct {
	name               string
	objs               int
	bytes              int64
	dl, disk           measured // best (least wall) of R
	hdw                map[string]*hdwResult
	split, splitS3     split
	hasSplit           bool
	hasSplitS3         bool
	dlWalls, diskWalls []float64
}

// hdwResult is one hdw binary's runs on a corpus ("" = -hdw, "before").
type hdwResult struct {
	disk, s3 []ingestResult
}

func run(ctx context.Context, o options) error {
	if o.bucket == "" {
		return errors.New("no bucket: pass -bucket or set HDW_S3_TEST_BUCKET (bench/peers-s3.sh starts a server)")
	}
	o.runs = max(o.runs, 1)
	o.explicitWorkers = o.workers > 0
	if !o.explicitWorkers {
		o.workers = defaultWorkers()
	}
	for _, name := range o.corpora {
		if _, ok := corpora[name]; !ok && name != "custom" {
			return fmt.Errorf("unknown corpus %q (ct, multiframe, photos, mixed, custom)", name)
		}
	}
	tmp, err := os.MkdirTemp("", "s3bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := o.hdwBin
	if bin == "" {
		bin = filepath.Join(tmp, "hdw")
		cmd := exec.Command("go", "build", "-tags", o.tags, "-o", bin, "hdw/cmd/hdw")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build hdw: %w", err)
		}
	}
	base := s3store.ConfigFromEnv(os.Getenv)
	base.Bucket = o.bucket
	how := "hdw ingest default for an S3 source: configs.AutoWorkers"
	if o.explicitWorkers {
		how = "-workers; hdw ingest gets --workers too"
	}
	fmt.Printf("== s3bench: end-to-end hdw ingest from S3 vs plain parallel download (issues 9, 24)\n")
	fmt.Printf("server      %s (path style %v), bucket %s\n", cmp.Or(base.Endpoint, "AWS default"), base.PathStyle, o.bucket)
	fmt.Printf("workers     W=%d (%s; NumCPU=%d, GOMAXPROCS=%d); best of %d runs, phases alternated, file systems synced between phases\n",
		o.workers, how, runtime.NumCPU(), runtime.GOMAXPROCS(0), o.runs)
	var results []corpusResult
	for _, name := range o.corpora {
		c, ok := corpora[name]
		if name == "custom" {
			c, ok = o.custom, true
		}
		c.seed = 2026
		_ = ok
		r, err := runCorpus(ctx, o, base, bin, tmp, name, c)
		if err != nil {
			return fmt.Errorf("corpus %s: %w", name, err)
		}
		results = append(results, r)
	}
	printTable(results, o)
	return nil
}

// runCorpus uploads one corpus and measures it.
func runCorpus(ctx context.Context, o options, base s3store.Config, bin, tmp, name string, c corpus) (corpusResult, error) {
	res := corpusResult{name: name, hdw: map[string]*hdwResult{}}
	prefix := o.prefix + "-" + name
	srcCfg := base
	srcCfg.Prefix = prefix + "/" + o.client + "/images"
	src, err := s3store.New(ctx, srcCfg)
	if err != nil {
		return res, err
	}
	fmt.Printf("\n== corpus %s: %s\n", name, c.describe())
	if !o.keep {
		defer func() {
			n, err := deleteAll(context.WithoutCancel(ctx), base, prefix, o.workers)
			if err != nil {
				fmt.Fprintln(os.Stderr, "s3bench: cleanup:", err)
				return
			}
			fmt.Printf("cleanup     %d objects deleted under %s/\n", n, prefix)
		}()
	}
	if !o.skipUpload {
		u, err := c.build()
		if err != nil {
			return res, err
		}
		t0 := time.Now()
		n, err := upload(ctx, src, u, max(o.workers, 4))
		if err != nil {
			return res, fmt.Errorf("upload: %w", err)
		}
		fmt.Printf("upload      %d objects, %.1f MB generated and uploaded in %.1f s\n", len(u.Files), float64(n)/1e6, time.Since(t0).Seconds())
	}
	objs, bytes, err := listAll(ctx, src)
	if err != nil {
		return res, err
	}
	res.objs, res.bytes = objs, bytes
	images := objs - 1
	rate := func(secs float64) string {
		return fmt.Sprintf("%7.1f obj/s %7.1f MB/s", float64(objs)/secs, float64(bytes)/1e6/secs)
	}
	usage := func(m measured) string {
		return fmt.Sprintf("cpu %.1f s = %.2f cores, peak RSS %d MiB", m.cpu, m.cores(), m.rssKB>>10)
	}
	check := func(what string, r downloadResult) error {
		if r.Objects != objs || r.Bytes != bytes {
			return fmt.Errorf("%s: %d objects %d bytes, want %d and %d", what, r.Objects, r.Bytes, objs, bytes)
		}
		return nil
	}
	// keepIngest checks that an ingest run took every image, keeps it in
	// runs and prints it: the binary's tag, where the warehouse was (disk
	// or S3) and the run number r.
	keepIngest := func(runs *[]ingestResult, ir ingestResult, tag, where string, r int) error {
		if int(ir.sum.Ingested) != images {
			return fmt.Errorf("ingest: %d of %d images ingested (%d quarantined, %d rejected): the figures would not compare",
				ir.sum.Ingested, images, ir.sum.Quarantined, ir.sum.Rejected)
		}
		*runs = append(*runs, ir)
		fmt.Printf("%-6s %-4s run %d/%d: %7.3f s %s  (pipeline %.3f s, fixed %.3f s%s%s, %s)%s\n",
			tag, where, r, o.runs, ir.wall, rate(ir.wall), ir.sum.Seconds, ir.fixed(), ir.warm(), ir.workers(), usage(ir.measured), o.server.note(ir.server))
		return nil
	}
	source := "s3://" + o.bucket + "/" + prefix
	var dls, disks []measured
	for r := 1; r <= o.runs; r++ {
		settle()
		m, dr, err := downloadChild(ctx, o, srcCfg.Prefix, "")
		if err != nil {
			return res, err
		}
		if err := check("download", dr); err != nil {
			return res, err
		}
		dls = append(dls, m)
		fmt.Printf("download    run %d/%d: %7.3f s %s  (%s)%s\n", r, o.runs, m.wall, rate(m.wall), usage(m), o.server.note(m.server))

		ddir := filepath.Join(tmp, fmt.Sprintf("download-%s-%d", name, r))
		if err := os.Mkdir(ddir, 0o755); err != nil {
			return res, err
		}
		settle()
		m, dr, err = downloadChild(ctx, o, srcCfg.Prefix, ddir)
		if err == nil {
			err = check("download to disk", dr)
		}
		// The downloaded files are removed before the next phase: on a disk
		// mounted with discard, removing 500 MB while the next phase runs
		// slows it (a run that deleted files ran up to 30% slower).
		os.RemoveAll(ddir)
		if err != nil {
			return res, err
		}
		disks = append(disks, m)
		fmt.Printf("to disk     run %d/%d: %7.3f s %s  (%s)%s\n", r, o.runs, m.wall, rate(m.wall), usage(m), o.server.note(m.server))

		bins := []struct{ label, path string }{{"", bin}}
		if o.before != "" {
			bins = append(bins, struct{ label, path string }{"before", o.before})
		}
		for _, b := range bins {
			hr := res.hdw[b.label]
			if hr == nil {
				hr = &hdwResult{}
				res.hdw[b.label] = hr
			}
			tag := cmp.Or(b.label, "hdw")
			settle()
			ir, err := ingestLocal(ctx, o, b.path, tmp, fmt.Sprintf("%s%s%d", name, b.label, r), source, "")
			if err != nil {
				return res, err
			}
			if err := keepIngest(&hr.disk, ir, tag, "disk", r); err != nil {
				return res, err
			}
			if !o.s3Warehouse {
				continue
			}
			settle()
			wp := fmt.Sprintf("%s/warehouse%s%d", prefix, b.label, r)
			env := []string{"HDW_WAREHOUSE=s3://" + o.bucket + "/" + wp, "HDW_CREDENTIALS=" + filepath.Join(tmp, fmt.Sprintf("creds-s3-%s%s-%d", name, b.label, r))}
			ir, err = ingest(ctx, b.path, env, source, o.client, workersArg(o), o.server)
			if err != nil {
				return res, err
			}
			if err := keepIngest(&hr.s3, ir, tag, "S3", r); err != nil {
				return res, err
			}
		}
	}
	byWall := func(a, b measured) int { return cmp.Compare(a.wall, b.wall) }
	res.dl, res.disk = slices.MinFunc(dls, byWall), slices.MinFunc(disks, byWall)
	for _, m := range dls {
		res.dlWalls = append(res.dlWalls, m.wall)
	}
	for _, m := range disks {
		res.diskWalls = append(res.diskWalls, m.wall)
	}
	if o.profiles {
		prof, err := profilePath(o, tmp, "", name)
		if err != nil {
			return res, err
		}
		settle()
		ir, err := ingestLocal(ctx, o, bin, tmp, name+"prof", source, prof)
		if err != nil {
			return res, err
		}
		sp, err := splitProfile(prof)
		if err != nil {
			fmt.Printf("profile     no split: %v\n", err)
		} else {
			res.split, res.hasSplit = sp, true
			fmt.Printf("profile     one more hdw disk ingest (%.3f s) with HDW_CPUPROFILE: %s\n", ir.wall, sp.format())
			fmt.Printf("            per-run fixed costs: %s\n", sp.fixed(ir))
			if o.cpuProfile != "" {
				fmt.Printf("            kept in %s (go tool pprof -top -cum %s %s)\n", prof, bin, prof)
			}
		}
	}
	if o.profiles && o.s3Warehouse {
		prof, err := profilePath(o, tmp, "s3-", name)
		if err != nil {
			return res, err
		}
		settle()
		env := []string{"HDW_WAREHOUSE=s3://" + o.bucket + "/" + prefix + "/warehouse-prof", "HDW_CREDENTIALS=" + filepath.Join(tmp, "creds-s3prof-"+name), "HDW_CPUPROFILE=" + prof}
		ir, err := ingest(ctx, bin, env, source, o.client, workersArg(o), o.server)
		if err != nil {
			return res, err
		}
		if sp, err := splitProfile(prof); err == nil {
			res.splitS3, res.hasSplitS3 = sp, true
			fmt.Printf("profile S3  one more hdw S3 ingest (%.3f s) with HDW_CPUPROFILE: %s\n", ir.wall, sp.format())
			fmt.Printf("            per-run fixed costs: %s\n", sp.fixed(ir))
		}
	}
	if o.experiments {
		if err := inProcess(ctx, o, bin, tmp, srcCfg, res.dl.wall, objs, bytes); err != nil {
			return res, err
		}
	}
	return res, nil
}

// ingestLocal times hdw ingest into a fresh local warehouse under tmp,
// removed afterwards; a non-empty cpuProfile sets HDW_CPUPROFILE.
// profilePath returns where the CPU profile of one more ingest goes, kind
// "" for the disk warehouse and "s3-" for S3: beside -cpuprofile when it
// is set (kept), else in tmp. A profile of an earlier run is removed.
func profilePath(o options, tmp, kind, name string) (string, error) {
	prof := filepath.Join(tmp, "cpu-"+kind+name+".pprof")
	if o.cpuProfile != "" {
		var err error
		if prof, err = filepath.Abs(o.cpuProfile + "-" + kind + name); err != nil {
			return "", err
		}
	}
	os.Remove(prof)
	return prof, nil
}

func ingestLocal(ctx context.Context, o options, bin, tmp, name, source string, cpuProfile string) (ingestResult, error) {
	wh := filepath.Join(tmp, "wh"+name)
	defer func() { os.RemoveAll(wh); settle() }()
	env := []string{"HDW_WAREHOUSE=" + wh, "HDW_CREDENTIALS=" + filepath.Join(tmp, "creds"+name)}
	if cpuProfile != "" {
		env = append(env, "HDW_CPUPROFILE="+cpuProfile)
	}
	return ingest(ctx, bin, env, source, o.client, workersArg(o), o.server)
}

func workersArg(o options) int {
	if o.explicitWorkers {
		return o.workers
	}
	return 0
}
