//go:build unix

package photo

import (
	"syscall"
	"time"
)

// CPUTime is the user and system CPU time of the whole test process (all
// threads, collector included): benchmarks report it per operation
// (cpu-ms/op) because the machine is shared and wall time (ns/op) moves
// with the load of other processes.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
