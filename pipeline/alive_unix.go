//go:build unix

package pipeline

import (
	"errors"
	"syscall"
)

// processAlive reports whether a process exists (signal 0: no signal sent).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
