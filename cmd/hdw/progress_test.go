package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestProgressModes: not on a terminal, auto gives periodic plain lines
// (JSON lines with --json); json lines decode; none prints nothing; a bad
// mode is a usage error.
func TestProgressModes(t *testing.T) {
	var buf bytes.Buffer
	p, err := newProgress(&buf, "auto", false, time.Nanosecond)
	if err != nil || p.mode != progressPlain {
		t.Fatalf("auto off a terminal: %v %v", p, err)
	}
	p.Start(3, 300)
	p.Advance(1, 100)
	p.Advance(2, 200)
	p.Done()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) < 3 || !strings.Contains(lines[len(lines)-1], "ingest done: 3/3 files (100%)") {
		t.Fatalf("plain lines:\n%s", buf.String())
	}
	buf.Reset()
	p, _ = newProgress(&buf, "auto", true, time.Nanosecond)
	p.Start(2, 10)
	p.Advance(2, 10)
	p.Done()
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var pl progressLine
		if err := json.Unmarshal([]byte(l), &pl); err != nil || pl.Event == "" {
			t.Fatalf("json line %q: %v", l, err)
		}
	}
	buf.Reset()
	p, _ = newProgress(&buf, "none", false, 0)
	p.Start(1, 1)
	p.Advance(1, 1)
	p.Done()
	if buf.Len() != 0 {
		t.Fatal("none printed")
	}
	if _, err := newProgress(&buf, "fancy", false, 0); err == nil {
		t.Fatal("bad mode accepted")
	}
}
