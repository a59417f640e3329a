package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"hdw/objstore/s3store"
	"hdw/pipeline"

	"golang.org/x/sys/unix"
)

// measured is one timed child process: wall time, its CPU (user+system)
// and its peak resident set, plus the S3 server's CPU during it.
type measured struct {
	wall, cpu float64
	server    float64
	rssKB     int64
}

func (m measured) cores() float64 {
	if m.wall <= 0 {
		return 0
	}
	return m.cpu / m.wall
}

// runMeasured runs cmd to its end and measures it. Exit code 3 (hdw:
// completed with quarantined or rejected items) is not an error.
func runMeasured(cmd *exec.Cmd, server serverCPU) (measured, error) {
	s0 := server.seconds()
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
	m := measured{wall: time.Since(t0).Seconds(), server: server.seconds() - s0}
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 3) {
		return m, err
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.rssKB = ru.Maxrss // KiB on Linux
		m.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
	}
	if hwm > 0 {
		// os/exec starts the child with vfork (CLONE_VM): Linux counts
		// this process's resident set in the child's ru_maxrss, so the
		// child's own high-water mark is read from /proc while it runs.
		m.rssKB = hwm
	}
	return m, nil
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

// downloadResult is what a download child prints (JSON on stdout).
type downloadResult struct {
	Secs    float64 `json:"secs"`
	Objects int     `json:"objects"`
	Bytes   int64   `json:"bytes"`
}

// downloadChild runs the plain download in a child process of this
// binary (so that its CPU and peak RSS are measured as hdw's are): every
// object under the S3 prefix, with workers goroutines, to dir ("" =
// io.Discard).
func downloadChild(ctx context.Context, o options, prefix, dir string) (measured, downloadResult, error) {
	self, err := os.Executable()
	if err != nil {
		return measured{}, downloadResult{}, err
	}
	cmd := exec.CommandContext(ctx, self, "-bucket", o.bucket, "-child-download", prefix, "-child-dir", dir, "-workers", fmt.Sprint(o.workers))
	cmd.Env = os.Environ()
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	m, err := runMeasured(cmd, o.server)
	if err != nil {
		return m, downloadResult{}, fmt.Errorf("download child: %w\n%s", err, stderr.String())
	}
	var r downloadResult
	if err := json.Unmarshal([]byte(stdout.String()), &r); err != nil {
		return m, r, fmt.Errorf("download child output: %w", err)
	}
	return m, r, nil
}

// childDownload is the child's side: the download, its result on stdout.
func childDownload(ctx context.Context, bucket, prefix, dir string, workers int) error {
	cfg := s3store.ConfigFromEnv(os.Getenv)
	cfg.Bucket, cfg.Prefix = bucket, prefix
	secs, n, b, err := download(ctx, cfg, workers, dir)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(downloadResult{Secs: secs, Objects: n, Bytes: b})
}

// download is the plain parallel download: a fresh client (as a new hdw
// process has), one listing, then GetObject of every object by workers
// goroutines, copied to io.Discard or, with dir, each to a file of dir
// (os.Create, io.Copy, Close) with one syncfs at the end (as hdw's local
// warehouse does before its commit record): what any tool that keeps the
// bytes on this disk costs. The listing is timed, as in the ingest.
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
				n, err := fetchOne(ctx, st, k, dir)
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

func fetchOne(ctx context.Context, st *s3store.Store, key, dir string) (int64, error) {
	rc, err := st.Open(ctx, key)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	if dir == "" {
		return io.Copy(io.Discard, rc)
	}
	f, err := os.Create(filepath.Join(dir, strings.ReplaceAll(key, "/", "_")))
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, rc)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
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
	measured
	sum pipeline.Summary
}

// workers says how many items hdw processed at once when the count adapted
// (issue 24 item 2), "" otherwise.
func (r ingestResult) workers() string {
	if r.sum.WorkersMean == 0 {
		return ""
	}
	return fmt.Sprintf(", workers mean %.1f last %d", r.sum.WorkersMean, r.sum.WorkersLast)
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
func ingest(ctx context.Context, bin string, extra []string, source, client string, workers int, server serverCPU) (ingestResult, error) {
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
	m, err := runMeasured(cmd, server)
	if err != nil {
		return ingestResult{}, fmt.Errorf("hdw ingest: %w\n%s", err, stderr.String())
	}
	res := ingestResult{measured: m}
	if err := json.Unmarshal([]byte(stdout.String()), &res.sum); err != nil {
		return ingestResult{}, fmt.Errorf("hdw ingest summary: %w", err)
	}
	return res, nil
}
