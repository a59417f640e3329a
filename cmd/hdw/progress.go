package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Progress modes (--progress): a bar on a terminal, else plain lines; json
// lines for log collectors (a Kubernetes log); none.
const (
	progressAuto  = "auto"
	progressBar   = "bar"
	progressPlain = "plain"
	progressJSON  = "json"
	progressNone  = "none"
)

// bar renders ingest progress: a redrawn bar on a terminal, or one line
// (plain text or JSON) every interval elsewhere, so that a log shows the
// run advancing. It writes to stderr; the summary goes to stdout.
type bar struct {
	mu         sync.Mutex
	w          io.Writer
	mode       string
	every      time.Duration
	start      time.Time
	last       time.Time
	items, n   int
	total, got int64
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// newProgress returns the progress renderer of mode (progressAuto: a bar
// on a terminal, plain lines otherwise; with --json, auto means json lines
// when not on a terminal and nothing on one).
func newProgress(w io.Writer, mode string, jsonOut bool, every time.Duration) (*bar, error) {
	switch mode = strings.ToLower(mode); mode {
	case "", progressAuto:
		switch {
		case isTerminal(w) && !jsonOut:
			mode = progressBar
		case isTerminal(w):
			mode = progressNone
		case jsonOut:
			mode = progressJSON
		default:
			mode = progressPlain
		}
	case progressBar, progressPlain, progressJSON, progressNone:
	default:
		return nil, usageErr("--progress must be auto, bar, plain, json or none")
	}
	if every <= 0 {
		every = 10 * time.Second
	}
	if mode == progressBar {
		every = 200 * time.Millisecond
	}
	return &bar{w: w, mode: mode, every: every}, nil
}

func (b *bar) Start(items int, bytes int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.items, b.total, b.start, b.last = items, bytes, time.Now(), time.Now()
	if b.mode == progressPlain || b.mode == progressJSON {
		b.draw("start")
	}
}

func (b *bar) Advance(items int, bytes int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n += items
	b.got += bytes
	if b.n > b.items {
		// The total is the listing's images; rows without an image come on top.
		b.items = b.n
	}
	if b.mode != progressNone && (time.Since(b.last) >= b.every || (b.mode == progressBar && b.n == b.items)) {
		b.last = time.Now()
		b.draw("progress")
	}
}

// progressLine is one JSON progress line (--progress json).
type progressLine struct {
	Event      string  `json:"event"`
	Time       string  `json:"time"`
	Items      int     `json:"items"`
	TotalItems int     `json:"total_items"`
	Bytes      int64   `json:"bytes"`
	TotalBytes int64   `json:"total_bytes"`
	Percent    float64 `json:"percent"`
	RateBps    float64 `json:"bytes_per_second"`
	ETASeconds float64 `json:"eta_seconds"`
	Elapsed    float64 `json:"elapsed_seconds"`
}

func (b *bar) draw(event string) {
	el := time.Since(b.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(b.got) / el
	}
	etaS := -1.0
	eta := "--"
	if rate > 0 && b.total > b.got {
		etaS = float64(b.total-b.got) / rate
		eta = (time.Duration(etaS) * time.Second).Round(time.Second).String()
	} else if b.n == b.items {
		etaS, eta = 0, "0s"
	}
	pct := 100.0
	if b.items > 0 {
		pct = 100 * float64(b.n) / float64(b.items)
	}
	switch b.mode {
	case progressJSON:
		json.NewEncoder(b.w).Encode(progressLine{Event: event, Time: time.Now().UTC().Format(time.RFC3339), Items: b.n, TotalItems: b.items,
			Bytes: b.got, TotalBytes: b.total, Percent: float64(int(pct*10)) / 10, RateBps: float64(int64(rate)), ETASeconds: float64(int64(etaS)), Elapsed: float64(int64(el))})
	case progressPlain:
		fmt.Fprintf(b.w, "%s ingest %s: %d/%d files (%.0f%%), %s/%s, %s/s, ETA %s\n", time.Now().UTC().Format(time.RFC3339), event,
			b.n, b.items, pct, human(b.got), human(b.total), human(int64(rate)), eta)
	case progressBar:
		const width = 30
		fill := int(pct / 100 * width)
		fmt.Fprintf(b.w, "\r[%s%s] %3.0f%% %d/%d files  %s/%s  %s/s  ETA %s ", strings.Repeat("#", fill), strings.Repeat(".", width-fill), pct, b.n, b.items,
			human(b.got), human(b.total), human(int64(rate)), eta)
	}
}

func (b *bar) Done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.mode {
	case progressBar:
		if b.items > 0 {
			b.draw("progress")
			fmt.Fprintln(b.w)
		}
	case progressPlain, progressJSON:
		b.draw("done")
	}
}

func human(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
