// Command s3bench measures end-to-end ingest from an S3 server against a
// plain parallel download of the same objects with the same SDK (issue 9:
// ingest at least 60% of the download). bench/peers-s3.sh starts the local
// S3 server and runs it.
//
// It reads the S3 settings hdw reads (AWS_ENDPOINT_URL, AWS_REGION,
// HDW_S3_PATH_STYLE, the AWS credential chain) through
// s3store.ConfigFromEnv and builds every client with s3store.New, so the
// endpoint, path style, retries, timeouts, connection pool and part size
// are hdw's. Then:
//
//  1. uploads a synthetic client upload (synth.NewUpload's manifest and
//     names; images regenerated as 512x512 16-bit CT slices and JPEG photos
//     with full metadata) to s3://BUCKET/PREFIX/CLIENT/images/;
//  2. plain download: lists that prefix and GetObject + io.Copy(io.Discard)
//     of every object with W workers (W = hdw ingest's default); then the
//     same download writing each object to a file of the folder that holds
//     the warehouse, with one syncfs at the end: the ceiling of any tool
//     that keeps the bytes on that disk;
//  3. end-to-end ingest: the real hdw binary, `hdw init` of a fresh local
//     warehouse (passphrases in a credentials folder, never on a command
//     line) then `hdw ingest s3://BUCKET/PREFIX --client CLIENT`, source not
//     purged; runs alternate with the downloads, best of R of each;
//  4. once into an S3 warehouse (s3://BUCKET/PREFIX/warehouse);
//  5. with -cpuprofile, the same pipeline in-process with runtime/pprof, and
//     with -experiments variants that isolate its costs (inproc.go).
//
// Figures: objects/s and MB/s of each, hdw's ratio to the download and the
// goal, hdw's peak RSS (VmHWM of the child read while it runs: what /usr/bin/time -f
// %M prints) and CPU time. Only synthetic data; nothing identifying is
// printed.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"hdw/configs"
	"hdw/objstore"
	"hdw/objstore/s3store"
	"hdw/pipeline"

	"golang.org/x/sys/unix"
)

type options struct {
	bucket, prefix, client string
	corpus                 corpus
	runs, workers          int
	hdwBin, tags           string
	s3Warehouse            bool
	keep, skipUpload       bool
	cpuProfile             string
	experiments            bool
	inprocRuns             int
	server                 serverCPU
}

func main() {
	var o options
	flag.StringVar(&o.bucket, "bucket", os.Getenv("HDW_S3_TEST_BUCKET"), "bucket (default $HDW_S3_TEST_BUCKET)")
	flag.StringVar(&o.prefix, "prefix", fmt.Sprintf("s3bench-%d", time.Now().UnixNano()), "prefix of the run in the bucket")
	flag.StringVar(&o.client, "client", "ACME", "client name: the upload goes to PREFIX/CLIENT/images/")
	flag.IntVar(&o.corpus.patients, "patients", 100, "synthetic patients")
	flag.IntVar(&o.corpus.dicomPer, "dicom", 9, "CT slices per patient")
	flag.IntVar(&o.corpus.photosPer, "photos", 1, "photos per patient")
	flag.IntVar(&o.corpus.rows, "rows", 512, "CT slice rows")
	flag.IntVar(&o.corpus.cols, "cols", 512, "CT slice columns")
	flag.IntVar(&o.corpus.photoW, "photo-w", 1600, "photo width")
	flag.IntVar(&o.corpus.photoH, "photo-h", 1200, "photo height")
	flag.IntVar(&o.runs, "runs", 3, "runs of the download and of the ingest (best of)")
	flag.IntVar(&o.workers, "workers", 0, "download and ingest workers (default: hdw ingest's default)")
	flag.StringVar(&o.hdwBin, "hdw", "", "prebuilt hdw binary (default: go build hdw/cmd/hdw into a temporary folder)")
	flag.StringVar(&o.tags, "tags", "", "build tags for hdw (e.g. ocr)")
	flag.BoolVar(&o.s3Warehouse, "s3-warehouse", true, "also ingest once into an S3 warehouse")
	flag.BoolVar(&o.keep, "keep", false, "keep the uploaded objects and the S3 warehouse")
	flag.BoolVar(&o.skipUpload, "skip-upload", false, "reuse an upload already under -prefix (same corpus flags; with -keep it stays for the next run)")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "after the timed runs, one more hdw ingest with HDW_CPUPROFILE set to this file")
	flag.BoolVar(&o.experiments, "experiments", false, "also run in-process variants that isolate the ingest's costs")
	flag.IntVar(&o.inprocRuns, "inproc-runs", 2, "runs of each in-process variant (best of)")
	pid := flag.Int("server-pid", 0, "pid of the S3 server on this machine, to report its CPU time per phase (peers-s3.sh passes it)")
	flag.Parse()
	o.server = serverCPU(*pid)
	o.corpus.seed = 2026
	ctx := context.Background()
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

func run(ctx context.Context, o options) error {
	if o.bucket == "" {
		return errors.New("no bucket: pass -bucket or set HDW_S3_TEST_BUCKET (bench/peers-s3.sh starts a server)")
	}
	if o.runs < 1 {
		o.runs = 1
	}
	explicitWorkers := o.workers > 0
	if !explicitWorkers {
		o.workers = defaultWorkers()
	}
	base := s3store.ConfigFromEnv(os.Getenv)
	base.Bucket = o.bucket
	srcCfg := base
	srcCfg.Prefix = o.prefix + "/" + o.client + "/images"
	src, err := s3store.New(ctx, srcCfg)
	if err != nil {
		return err
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

	c := o.corpus
	fmt.Printf("== s3bench: end-to-end hdw ingest from S3 vs plain parallel download (issue 9)\n")
	fmt.Printf("server      %s (path style %v), bucket %s, prefix %s/%s/images/\n", cmp.Or(base.Endpoint, "AWS default"), base.PathStyle, o.bucket, o.prefix, o.client)
	if !o.keep {
		defer func() {
			n, err := deleteAll(context.WithoutCancel(ctx), base, o.prefix, o.workers)
			if err != nil {
				fmt.Fprintln(os.Stderr, "s3bench: cleanup:", err)
				return
			}
			fmt.Printf("cleanup     %d objects deleted under %s/\n", n, o.prefix)
		}()
	}
	if !o.skipUpload {
		u, err := c.build()
		if err != nil {
			return err
		}
		t0 := time.Now()
		n, err := upload(ctx, src, u, max(o.workers, 4))
		if err != nil {
			return fmt.Errorf("upload: %w", err)
		}
		fmt.Printf("upload      %d objects, %.1f MB generated and uploaded in %.1f s\n", len(u.Files), float64(n)/1e6, time.Since(t0).Seconds())
	}
	objs, bytes, err := listAll(ctx, src)
	if err != nil {
		return err
	}
	images := objs - 1
	fmt.Printf("corpus      %d objects, %.1f MB: %d CT slices %dx%d 16-bit, %d JPEG photos %dx%d with EXIF/XMP/IPTC, manifest.csv\n",
		objs, float64(bytes)/1e6, c.patients*c.dicomPer, c.rows, c.cols, c.patients*c.photosPer, c.photoW, c.photoH)
	how := "hdw ingest default for an S3 source: configs.AutoWorkers"
	if explicitWorkers {
		how = "-workers; hdw ingest gets --workers too"
	}
	fmt.Printf("workers     W=%d (%s; NumCPU=%d, GOMAXPROCS=%d)\n", o.workers, how, runtime.NumCPU(), runtime.GOMAXPROCS(0))

	rate := func(secs float64) string {
		return fmt.Sprintf("%7.1f obj/s %7.1f MB/s", float64(objs)/secs, float64(bytes)/1e6/secs)
	}
	var dl, dlServer, dlCPU, dlDisk []float64
	var ing []ingestResult
	source := "s3://" + o.bucket + "/" + o.prefix
	for r := 1; r <= o.runs; r++ {
		s0, c0 := o.server.seconds(), selfCPU()
		secs, n, nb, err := download(ctx, srcCfg, o.workers, "")
		if err != nil {
			return fmt.Errorf("download: %w", err)
		}
		if n != objs || nb != bytes {
			return fmt.Errorf("download: %d objects %d bytes, want %d and %d", n, nb, objs, bytes)
		}
		dl = append(dl, secs)
		dlServer = append(dlServer, o.server.seconds()-s0)
		dlCPU = append(dlCPU, selfCPU()-c0)
		fmt.Printf("download    run %d/%d: %7.3f s %s  (client cpu %.1f s)%s\n", r, o.runs, secs, rate(secs), dlCPU[len(dlCPU)-1], o.server.note(dlServer[len(dlServer)-1]))

		ddir := filepath.Join(tmp, fmt.Sprintf("download%d", r))
		if err := os.Mkdir(ddir, 0o755); err != nil {
			return err
		}
		settle()
		s0 = o.server.seconds()
		secs, n, nb, err = download(ctx, srcCfg, o.workers, ddir)
		if err != nil {
			return fmt.Errorf("download to disk: %w", err)
		}
		if n != objs || nb != bytes {
			return fmt.Errorf("download to disk: %d objects %d bytes, want %d and %d", n, nb, objs, bytes)
		}
		dlDisk = append(dlDisk, secs)
		fmt.Printf("to disk     run %d/%d: %7.3f s %s%s\n", r, o.runs, secs, rate(secs), o.server.note(o.server.seconds()-s0))

		settle()
		res, err := ingestLocal(ctx, o, bin, tmp, fmt.Sprint(r), source, explicitWorkers, "")
		// The downloaded files are removed once the ingest is timed: on a
		// disk mounted with discard, removing 500 MB while the next phase
		// runs slows it (a run that deleted files ran up to 30% slower).
		os.RemoveAll(ddir)
		if err != nil {
			return err
		}
		if int(res.sum.Ingested) != images {
			return fmt.Errorf("ingest: %d of %d images ingested (%d quarantined, %d rejected): the figures would not compare",
				res.sum.Ingested, images, res.sum.Quarantined, res.sum.Rejected)
		}
		ing = append(ing, res)
		fmt.Printf("hdw ingest  run %d/%d: %7.3f s %s  (pipeline %.3f s, hdw cpu %.1f s = %.2f cores, peak RSS %d MiB, ingested %d)%s\n",
			r, o.runs, res.wall, rate(res.wall), res.sum.Seconds, res.cpu, res.cpu/res.wall, res.rssKB>>10, res.sum.Ingested, o.server.note(res.server))
	}
	bestDL := slices.Min(dl)
	best := slices.MinFunc(ing, func(a, b ingestResult) int { return cmp.Compare(a.wall, b.wall) })
	ratio := bestDL / best.wall
	verdict := "met"
	if ratio < 0.6 {
		verdict = "NOT met"
	}
	fmt.Printf("\nbest of %d, %d objects, %.1f MB, W=%d:\n", o.runs, objs, float64(bytes)/1e6, o.workers)
	fmt.Printf("  plain download (s3store GetObject + io.Copy(io.Discard))  %7.3f s %s  (spread %s)\n", bestDL, rate(bestDL), spread(dl))
	walls := make([]float64, len(ing))
	for i, r := range ing {
		walls[i] = r.wall
	}
	bestDisk := slices.Min(dlDisk)
	fmt.Printf("  %-58s %7.3f s %s  (spread %s)\n", "download to files in "+filepath.Dir(tmp)+" + syncfs", bestDisk, rate(bestDisk), spread(dlDisk))
	fmt.Printf("  hdw ingest -> local warehouse (process wall time)          %7.3f s %s  (spread %s)\n", best.wall, rate(best.wall), spread(walls))
	fmt.Printf("  hdw peak RSS %d MiB (VmHWM of the child, as /usr/bin/time -f %%M prints), CPU %.1f s (%.2f of %d cores)\n", best.rssKB>>10, best.cpu, best.cpu/best.wall, runtime.NumCPU())
	fmt.Printf("  ratio hdw/plain download: %.0f%% (goal >= 60%%: %s); on the pipeline's own time (%.3f s, without process start, keyring unlock, table close and commit): %.0f%%\n",
		100*ratio, verdict, best.sum.Seconds, 100*bestDL/best.sum.Seconds)
	fmt.Printf("  ceiling: a download that keeps the bytes on the warehouse's disk is %.0f%% of the plain download; hdw is %.0f%% of it\n",
		100*bestDL/bestDisk, 100*bestDisk/best.wall)
	// CPU seconds are less sensitive than wall time to other load on a shared machine.
	cpuDL, cpuIng := slices.Min(dlCPU), slices.MinFunc(ing, func(a, b ingestResult) int { return cmp.Compare(a.cpu, b.cpu) }).cpu
	fmt.Printf("  CPU per run (least of %d): download client %.2f s, hdw %.2f s (%.1fx; %.1f ms per MB)", o.runs, cpuDL, cpuIng, cpuIng/cpuDL, 1e3*cpuIng/(float64(bytes)/1e6))
	if o.server > 0 {
		srvDL, srvIng := slices.Min(dlServer), slices.MinFunc(ing, func(a, b ingestResult) int { return cmp.Compare(a.server, b.server) }).server
		fmt.Printf("; S3 server %.2f s during the download, %.2f s during the ingest", srvDL, srvIng)
	}
	fmt.Println()

	if o.s3Warehouse {
		env := []string{"HDW_WAREHOUSE=s3://" + o.bucket + "/" + o.prefix + "/warehouse", "HDW_CREDENTIALS=" + filepath.Join(tmp, "creds-s3")}
		s0 := o.server.seconds()
		res, err := ingest(ctx, bin, env, source, o.client, workersArg(o, explicitWorkers))
		if err != nil {
			return err
		}
		res.server = o.server.seconds() - s0
		fmt.Printf("  hdw ingest -> S3 warehouse (once)                          %7.3f s %s  (pipeline %.3f s, hdw cpu %.1f s, peak RSS %d MiB, ingested %d)%s; ratio %.0f%%\n",
			res.wall, rate(res.wall), res.sum.Seconds, res.cpu, res.rssKB>>10, res.sum.Ingested, o.server.note(res.server), 100*bestDL/res.wall)
	}
	if o.cpuProfile != "" {
		prof, err := filepath.Abs(o.cpuProfile)
		if err != nil {
			return err
		}
		os.Remove(prof)
		res, err := ingestLocal(ctx, o, bin, tmp, "prof", source, explicitWorkers, prof)
		if err != nil {
			return err
		}
		if _, err := os.Stat(prof); err != nil {
			fmt.Printf("  CPU profile: this hdw does not support HDW_CPUPROFILE; use -experiments for in-process figures\n")
		} else {
			fmt.Printf("  CPU profile of one more hdw ingest (%.3f s) with HDW_CPUPROFILE: %s (go tool pprof -top -cum %s)\n", res.wall, prof, prof)
		}
	}
	if o.experiments {
		return inProcess(ctx, o, bin, tmp, srcCfg, bestDL, objs, bytes)
	}
	return nil
}

// ingestLocal times hdw ingest into a fresh local warehouse under tmp,
// removed afterwards; a non-empty cpuProfile sets HDW_CPUPROFILE.
func ingestLocal(ctx context.Context, o options, bin, tmp, name, source string, explicitWorkers bool, cpuProfile string) (ingestResult, error) {
	wh := filepath.Join(tmp, "wh"+name)
	defer func() { os.RemoveAll(wh); settle() }()
	env := []string{"HDW_WAREHOUSE=" + wh, "HDW_CREDENTIALS=" + filepath.Join(tmp, "creds"+name)}
	if cpuProfile != "" {
		env = append(env, "HDW_CPUPROFILE="+cpuProfile)
	}
	s0 := o.server.seconds()
	res, err := ingest(ctx, bin, env, source, o.client, workersArg(o, explicitWorkers))
	res.server = o.server.seconds() - s0
	return res, err
}

func workersArg(o options, explicit bool) int {
	if explicit {
		return o.workers
	}
	return 0
}

func spread(v []float64) string {
	if len(v) < 2 {
		return "one run"
	}
	lo, hi := slices.Min(v), slices.Max(v)
	return fmt.Sprintf("%.3f-%.3f s, +%.0f%%", lo, hi, 100*(hi-lo)/lo)
}

// listAll counts the objects and bytes under the store's prefix.
func listAll(ctx context.Context, st objstore.Store) (int, int64, error) {
	n, b := 0, int64(0)
	for info, err := range st.List(ctx, "") {
		if err != nil {
			return 0, 0, err
		}
		n++
		b += info.Size
	}
	if n == 0 {
		return 0, 0, errors.New("no object under the source prefix")
	}
	return n, b, nil
}

// download is the plain parallel download: a fresh client (as a new hdw
// process has), one listing, then GetObject + io.Copy(io.Discard) of every
// object by workers goroutines. The listing is timed, as in the ingest.
// download reads every object with W workers; with dir, each object is
// written to a file of dir (os.Create, io.Copy, Close) and the file system
// is flushed once at the end (syncfs, as hdw's local warehouse does before
// its commit record): what any tool that keeps the bytes on this disk
// costs.
func download(ctx context.Context, cfg s3store.Config, workers int, dir string) (secs float64, objs int, bytes int64, err error) {
	st, err := s3store.New(ctx, cfg)
	if err != nil {
		return 0, 0, 0, err
	}
	t0 := time.Now()
	var keys []string
	for info, err := range st.List(ctx, "") {
		if err != nil {
			return 0, 0, 0, err
		}
		keys = append(keys, info.Key)
	}
	jobs := make(chan string)
	var mu sync.Mutex
	var first error
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range jobs {
				rc, err := st.Open(ctx, k)
				var n int64
				if err == nil {
					var dst io.Writer = io.Discard
					var f *os.File
					if dir != "" {
						f, err = os.Create(filepath.Join(dir, strings.ReplaceAll(k, "/", "_")))
						dst = f
					}
					if err == nil {
						n, err = io.Copy(dst, rc)
					}
					if f != nil {
						if cerr := f.Close(); err == nil {
							err = cerr
						}
					}
					rc.Close()
				}
				mu.Lock()
				if err != nil && first == nil {
					first = err
				}
				objs++
				bytes += n
				mu.Unlock()
			}
		}()
	}
	for _, k := range keys {
		jobs <- k
	}
	close(jobs)
	wg.Wait()
	if dir != "" && first == nil {
		first = syncDir(dir)
	}
	return time.Since(t0).Seconds(), objs, bytes, first
}

// syncDir flushes the file system holding dir (syncfs(2)).
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}

type ingestResult struct {
	wall, cpu float64
	server    float64 // CPU seconds of the S3 server during the run
	rssKB     int64
	sum       pipeline.Summary
}

// hdwEnv is the environment of the hdw child: the S3 settings of ours,
// without any hdw setting that could change the run, plus the given ones.
func hdwEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "HDW_") && !strings.HasPrefix(kv, "HDW_S3_") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

// ingest creates a fresh warehouse with `hdw init` (not timed) and times
// `hdw --json ingest SOURCE --client CLIENT` into it. extra sets
// HDW_WAREHOUSE and HDW_CREDENTIALS (the passphrases: files, never
// arguments).
func ingest(ctx context.Context, bin string, extra []string, source, client string, workers int) (ingestResult, error) {
	env := hdwEnv(extra...)
	initCmd := exec.CommandContext(ctx, bin, "init")
	initCmd.Env = env
	if out, err := initCmd.CombinedOutput(); err != nil {
		return ingestResult{}, fmt.Errorf("hdw init: %w\n%s", err, out)
	}
	args := []string{"--profile", "ingest", "--json", "ingest", source, "--client", client}
	if workers > 0 {
		args = append(args, "--workers", fmt.Sprint(workers))
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var stderr, stdout strings.Builder
	cmd.Stderr = &stderr
	cmd.Stdout = &stdout
	t0 := time.Now()
	err := cmd.Start()
	var hwm int64
	if err == nil {
		stop := make(chan struct{})
		sampled := make(chan int64)
		go func() { sampled <- sampleHWM(cmd.Process.Pid, stop) }()
		err = cmd.Wait()
		close(stop)
		hwm = <-sampled
	}
	wall := time.Since(t0).Seconds()
	out := []byte(stdout.String())
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 3) { // 3: completed with quarantined or rejected items
		return ingestResult{}, fmt.Errorf("hdw ingest: %w\n%s", err, stderr.String())
	}
	res := ingestResult{wall: wall}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		res.rssKB = ru.Maxrss // KiB on Linux
		res.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	if hwm > 0 {
		// os/exec starts the child with vfork (CLONE_VM): Linux counts
		// this process's resident set in the child's ru_maxrss, so the
		// child's own high-water mark is read from /proc while it runs.
		res.rssKB = hwm
	}
	if err := json.Unmarshal(out, &res.sum); err != nil {
		return ingestResult{}, fmt.Errorf("hdw ingest summary: %w", err)
	}
	return res, nil
}

// sampleHWM reads the VmHWM (peak resident set, KiB) of pid every 5 ms
// until stop is closed, and returns the last value read.
func sampleHWM(pid int, stop <-chan struct{}) int64 {
	var last int64
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
			for _, line := range strings.Split(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					var kb int64
					if _, err := fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb); err == nil && kb > last {
						last = kb
					}
				}
			}
		}
		select {
		case <-stop:
			return last
		case <-t.C:
		}
	}
}

// settle flushes the file systems (sync(2)) so that a timed phase does not
// pay for the write-back or the deletions of the one before.
func settle() { unix.Sync() }

// deleteAll removes every object under prefix (the upload and the S3 warehouse).
func deleteAll(ctx context.Context, base s3store.Config, prefix string, workers int) (int, error) {
	cfg := base
	cfg.Prefix = prefix
	st, err := s3store.New(ctx, cfg)
	if err != nil {
		return 0, err
	}
	var keys []string
	for info, err := range st.List(ctx, "") {
		if err != nil {
			return 0, err
		}
		keys = append(keys, info.Key)
	}
	jobs := make(chan string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range jobs {
				if err := st.Delete(ctx, k); err != nil {
					mu.Lock()
					first = cmp.Or(first, err)
					mu.Unlock()
				}
			}
		}()
	}
	for _, k := range keys {
		jobs <- k
	}
	close(jobs)
	wg.Wait()
	return len(keys), first
}

// serverCPU reads the CPU time of the S3 server process from /proc (0: unknown).
type serverCPU int

// seconds returns the server's user+system CPU seconds so far, or 0.
func (p serverCPU) seconds() float64 {
	if p <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", int(p)))
	if err != nil {
		return 0
	}
	// Fields after the command name (which may hold spaces): state is 3rd,
	// utime and stime are the 14th and 15th, in clock ticks (USER_HZ = 100).
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	var ut, st float64
	fmt.Sscan(f[11], &ut)
	fmt.Sscan(f[12], &st)
	return (ut + st) / 100
}

func (p serverCPU) note(secs float64) string {
	if p <= 0 {
		return ""
	}
	return fmt.Sprintf("  [S3 server cpu %.1f s]", secs)
}

// selfCPU returns this process's user+system CPU seconds so far.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
