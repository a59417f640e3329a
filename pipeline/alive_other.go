//go:build !unix

package pipeline

// processAlive cannot tell here: a lease is stale only once expired.
func processAlive(int) bool { return true }
