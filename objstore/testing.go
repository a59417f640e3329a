package objstore

import (
	"os"
	"path/filepath"
	"sort"
)

// TestDropUnsynced simulates, for tests, a power loss on l: every file
// written in deferred mode ([Local.Defer]) that no successful [Local.Sync]
// has made durable since is removed or truncated to zero bytes (alternately,
// in key order), as a file system may leave it after a crash. Objects written
// durably (the default mode, or deferred and then synced) are untouched. It
// returns the keys it hit, sorted, and forgets them, as a restarted process
// would.
func TestDropUnsynced(l *Local) []string {
	l.mu.Lock()
	files := l.files
	l.files = map[string]struct{}{}
	clear(l.dirs)
	l.mu.Unlock()
	var keys []string
	for p := range files {
		rel, err := filepath.Rel(l.root, p)
		if err != nil {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			continue // deleted since
		}
		keys = append(keys, filepath.ToSlash(rel))
	}
	sort.Strings(keys)
	for i, k := range keys {
		p := filepath.Join(l.root, filepath.FromSlash(k))
		if i%2 == 0 {
			os.Remove(p)
		} else {
			os.Truncate(p, 0)
		}
	}
	return keys
}
