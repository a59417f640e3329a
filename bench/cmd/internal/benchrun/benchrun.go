// Package benchrun holds what the bench commands share: the process's CPU
// time and peak resident set ([CPUSeconds], [PeakRSS]), a CPU profile
// ([CPUProfile]), a pool of workers that counts clean and quarantined files
// ([Run]), the de-identification of one file into another as the ingest
// streams it ([File]), and the identifying values of a synthetic person as
// the residual scan receives them ([Identifiers]). Synthetic data only: it
// is for measuring.
package benchrun

import (
	"bufio"
	"context"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"hdw/masking"
	"hdw/objstore"
	"hdw/synth"
)

// CPUSeconds returns the process's user and system CPU time so far (the
// wall time moves with the load of a shared machine; this does less), or 0
// when the system does not say.
func CPUSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// CPUProfile starts a CPU profile written to path (nothing when path is
// empty) and returns what stops it.
func CPUProfile(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// PeakRSS returns the peak resident set size (VmHWM) in KiB, or 0 where
// /proc/self/status is not readable.
func PeakRSS() int {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			n, _ := strconv.Atoi(strings.Fields(v)[0])
			return n
		}
	}
	return 0
}

// Counts are the files a [Run] went through: all of them, those that came
// out clean, those quarantined, and the bytes read.
type Counts struct {
	Files, Clean, Quarantined, Bytes int64
}

// Run calls fn for the items 0..n-1 on workers goroutines (at least one);
// fn gets its worker's number (0..workers-1, for per-worker buffers) and
// the item, and returns the bytes it read and whether the file came out
// clean (false: quarantined). Run stops at the first error of fn and
// returns it with the counts so far. One worker runs on the caller's
// goroutine, as a single-process tool does: handing each item to another
// goroutine woke a thread per file, CPU time that a per-core figure
// charged to the tool measured. That worker yields to the scheduler every
// [yieldEvery]: it never waits on anything, which the ingest's workers do
// (more of them than cores, waiting on their jobs channel, their reads
// and the batch writer).
func Run(workers, n int, fn func(worker, i int) (bytes int64, clean bool, err error)) (Counts, error) {
	workers = max(1, workers)
	if workers == 1 {
		var c Counts
		last := time.Now()
		for i := 0; i < n; i++ {
			if time.Since(last) >= yieldEvery {
				runtime.Gosched()
				last = time.Now()
			}
			b, ok, err := fn(0, i)
			if err != nil {
				return c, err
			}
			c.add(b, ok)
		}
		return c, nil
	}
	var mu sync.Mutex
	var c Counts
	items := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range items {
				b, ok, err := fn(w, i)
				if err != nil {
					errs <- err
					for range items { // drain: the feeder must not block
					}
					return
				}
				mu.Lock()
				c.add(b, ok)
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n; i++ {
		items <- i
	}
	close(items)
	wg.Wait()
	close(errs)
	return c, <-errs
}

// yieldEvery is how long Run's single worker runs before it yields. A
// goroutine that runs 10 ms without passing through the scheduler is
// preempted by the Go runtime's monitor; when that finds it in a system
// call (40% of the bench's time on small slices, 80% on 512x512 ones), the
// monitor takes its P away, hands the P to another thread, and then polls
// every 20 µs for the next millisecond, backing off from there. Issue 19,
// 1,000 512x512 slices with the scan: 930 to 1,070 of the monitor's sleeps
// and 1,630 to 1,700 context switches without the yield, 110 to 140 and
// 220 to 240 with it (`perf stat -e
// syscalls:sys_enter_nanosleep,context-switches`), and about 8% less CPU.
// Yielding at every file cost more (thread migrations).
const yieldEvery = 5 * time.Millisecond

// add counts one file of b bytes, clean or quarantined.
func (c *Counts) add(b int64, clean bool) {
	c.Files++
	c.Bytes += b
	if clean {
		c.Clean++
	} else {
		c.Quarantined++
	}
}

// Deidentifier is masking.Deidentifier, or a bare handler such as
// dcm.Handler (without the residual scan).
type Deidentifier interface {
	Deidentify(ctx context.Context, dst io.Writer, src io.Reader, size int64, p masking.Person, o masking.Options) (masking.Result, error)
}

// Copy is the copy floor of a speed ratio: a [Deidentifier] that copies
// the file unchanged (with [File] and no buffer, io.Copy from the input
// file to the output file, in the kernel on Linux): the fastest any tool
// that writes a new file per input can go.
type Copy struct{}

// Deidentify copies src to dst unchanged.
func (Copy) Deidentify(_ context.Context, dst io.Writer, src io.Reader, _ int64, _ masking.Person, _ masking.Options) (masking.Result, error) {
	_, err := io.Copy(dst, src)
	return masking.Result{}, err
}

// File de-identifies the file src into the new file dst and returns the
// size of src. clean is false when d quarantined the file: its partial
// output is removed and the error is not returned. With bw nil, d writes
// to the file itself (so that io.Copy between the two files stays in the
// kernel on Linux); otherwise bw is reset onto the file and flushed.
// Other errors are returned (dst removed).
func File(ctx context.Context, d Deidentifier, bw *bufio.Writer, p masking.Person, o masking.Options, src, dst string) (n int64, clean bool, err error) {
	f, err := objstore.OpenFile(src, os.O_RDONLY, 0)
	if err != nil {
		return 0, false, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, false, err
	}
	w, err := objstore.OpenFile(dst, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return 0, false, err
	}
	if bw == nil {
		_, err = d.Deidentify(ctx, w, f, st.Size(), p, o)
	} else {
		bw.Reset(w)
		_, err = d.Deidentify(ctx, bw, f, st.Size(), p, o)
		if err == nil {
			err = bw.Flush()
		}
	}
	if cerr := w.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		if rerr := os.Remove(dst); rerr != nil {
			return 0, false, rerr
		}
		if !masking.IsQuarantine(err) {
			return 0, false, err
		}
		return st.Size(), false, nil
	}
	return st.Size(), true, nil
}

// Identifiers returns the identifying values of p under the kinds the
// residual scan knows (as pipeline.PersonOf gives them from a manifest
// row), then extra, leaving out empty values.
func Identifiers(p synth.Person, extra ...masking.Identifier) []masking.Identifier {
	var ids []masking.Identifier
	for _, id := range append([]masking.Identifier{{Kind: "NIR", Value: p.NIR}, {Kind: "PPI", Value: p.PPI}, {Kind: "IEP", Value: p.IEP},
		{Kind: "LAST_NAME", Value: p.LastName}, {Kind: "NAME_OF_BIRTH", Value: p.BirthName}, {Kind: "FIRST_NAME", Value: p.FirstName},
		{Kind: "BIRTH_DATE", Value: p.BirthDate}, {Kind: "BIRTH_PLACE", Value: p.BirthPlace}, {Kind: "ADDRESS", Value: p.Address},
		{Kind: "CODE_POSTAL", Value: p.PostalCode}, {Kind: "CITY", Value: p.City}, {Kind: "TEL", Value: p.Phone}, {Kind: "EMAIL", Value: p.Email}},
		extra...) {
		if id.Value != "" {
			ids = append(ids, id)
		}
	}
	return ids
}
