package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// bar renders ingest progress on a terminal: files, bytes, rate and ETA.
// It prints nothing when stderr is not a terminal or --json is set.
type bar struct {
	mu         sync.Mutex
	w          io.Writer
	on         bool
	start      time.Time
	last       time.Time
	items, n   int
	total, got int64
}

func newBar(w io.Writer, enabled bool) *bar {
	on := enabled
	if f, ok := w.(*os.File); ok && on {
		fi, err := f.Stat()
		on = err == nil && fi.Mode()&os.ModeCharDevice != 0
	} else {
		on = false
	}
	return &bar{w: w, on: on}
}

func (b *bar) Start(items int, bytes int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.items, b.total, b.start = items, bytes, time.Now()
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
	if b.on && (time.Since(b.last) > 200*time.Millisecond || b.n == b.items) {
		b.last = time.Now()
		b.draw()
	}
}

func (b *bar) draw() {
	el := time.Since(b.start).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(b.got) / el
	}
	eta := "--"
	if rate > 0 && b.total > b.got {
		eta = (time.Duration(float64(b.total-b.got)/rate) * time.Second).Round(time.Second).String()
	} else if b.n == b.items {
		eta = "0s"
	}
	pct := 100.0
	if b.items > 0 {
		pct = 100 * float64(b.n) / float64(b.items)
	}
	const width = 30
	fill := int(pct / 100 * width)
	barStr := ""
	for i := 0; i < width; i++ {
		if i < fill {
			barStr += "#"
		} else {
			barStr += "."
		}
	}
	fmt.Fprintf(b.w, "\r[%s] %3.0f%% %d/%d files  %s/%s  %s/s  ETA %s ", barStr, pct, b.n, b.items,
		human(b.got), human(b.total), human(int64(rate)), eta)
}

func (b *bar) Done() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.on && b.items > 0 {
		b.draw()
		fmt.Fprintln(b.w)
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
