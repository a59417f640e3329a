// The bucket and the server around the measures: listing, cleaning up,
// flushing the file systems, the S3 server's CPU time.

package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"hdw/objstore"
	"hdw/objstore/s3store"
)

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
