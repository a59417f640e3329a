// Package testenv is for tests only: what a test does when a server, tool
// or sample set it needs is not there. It skips, or fails under
// HDW_DISALLOW_SKIP=1 (make test, CI), where nothing may be skipped,
// saying in both cases how to get what is missing.
package testenv

import (
	"os"
	"os/exec"
	"testing"
)

// Strict reports whether skipping is refused (HDW_DISALLOW_SKIP=1).
func Strict() bool { return os.Getenv("HDW_DISALLOW_SKIP") == "1" }

// Missing skips t with msg (what is missing and how to get it), or fails
// it under [Strict].
func Missing(t testing.TB, msg string) {
	t.Helper()
	if Strict() {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// Env returns the environment variable name, or calls [Missing] with how
// to set it when it is empty.
func Env(t testing.TB, name, how string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		Missing(t, name+" not set: "+how)
	}
	return v
}

// Tool calls [Missing] with how to install the command when it is not on
// the PATH.
func Tool(t testing.TB, name, how string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		Missing(t, name+" missing: "+how)
	}
}
