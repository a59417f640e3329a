// Adaptive worker count (issue 24 item 2): how many items are processed
// at once follows what is measured, between the cores and Options.Workers,
// instead of a fixed multiple of the core count.

package pipeline

import (
	"context"
	"log/slog"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// Tuning of the controller: an interval whose cores were busy (or wanted:
// goroutines ready to run and none free) cpuBound of the time is CPU-bound
// (more workers only add memory and contention); a change is kept when the
// bytes per second moved by at least gain in its direction, else it is
// undone and the count held for holdSteps intervals. The cores are sampled
// every adaptSample, the count judged every adaptSamples samples (500 ms).
const (
	adaptSample  = 20 * time.Millisecond
	adaptSamples = 25
	cpuBound     = 0.85
	gain         = 0.05
	holdSteps    = 4
)

// measure is what one interval measured.
type measure struct {
	wall  time.Duration // elapsed
	busy  float64       // the mean fraction of the cores running Go code or wanted by goroutines ready to run
	bytes int64         // source bytes of the items finished
}

// adaptive is the controller: a hill climb on throughput, steered by
// whether the process is CPU-bound. It grows the count while the process
// leaves cores idle (waiting on the network or the disk) and each step up
// pays; it shrinks it towards the cores while they are busy and a step
// down costs nothing. Pure: the driver feeds it measures.
type adaptive struct {
	floor, ceil int
	n           int
	prev        float64 // the previous interval's bytes/s
	moved       int     // the last step's change (+1, -1) being judged, 0: none
	hold        int     // intervals left to keep n after an undone change
}

func newAdaptive(floor, ceil int) *adaptive {
	ceil = max(ceil, 1)
	floor = min(max(floor, 1), ceil)
	return &adaptive{floor: floor, ceil: ceil, n: ceil}
}

// step takes one interval's measure and returns the count for the next.
func (a *adaptive) step(m measure) int {
	if m.wall <= 0 || m.bytes <= 0 {
		return a.n // nothing finished: no evidence either way
	}
	rate := float64(m.bytes) / m.wall.Seconds()
	util := m.busy
	prev, moved := a.prev, a.moved
	a.prev, a.moved = rate, 0
	switch {
	case moved > 0 && rate < prev*(1+gain): // one more worker did not pay
		a.n--
		a.hold = holdSteps
		return a.n
	case moved < 0 && rate < prev*(1-gain): // one fewer cost throughput
		a.n++
		a.hold = holdSteps
		return a.n
	}
	if a.hold > 0 {
		a.hold--
		return a.n
	}
	switch {
	case util >= cpuBound && a.n > a.floor:
		a.n--
		a.moved = -1
	case util < cpuBound && a.n < a.ceil:
		a.n++
		a.moved = +1
	}
	return a.n
}

// gate lets at most its count of workers process an item at once; the
// controller moves the count by holding the other slots. A nil gate lets
// every worker through (a fixed count).
type gate struct {
	slots chan struct{} // one per worker processing, plus the held ones
	held  int           // slots the controller holds (its goroutine only)
	bytes atomic.Int64  // source bytes of the items finished
	now   atomic.Int64  // the count allowed now (reports)
	// The driver's record (read after it stopped): the count's integral
	// over the intervals judged, and their length.
	countSeconds, seconds float64
}

// mean is the mean count allowed over the intervals judged (0: none).
func (g *gate) mean() float64 {
	if g.seconds == 0 {
		return 0
	}
	return g.countSeconds / g.seconds
}

func newGate(ceil, n int) *gate {
	g := &gate{slots: make(chan struct{}, ceil)}
	g.set(context.Background(), n)
	return g
}

// enter waits for a slot; false when ctx ends first (the item is then
// processed anyway: it reports the interruption).
func (g *gate) enter(ctx context.Context) bool {
	if g == nil {
		return false
	}
	select {
	case g.slots <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// leave frees the slot taken by enter and counts the item's source bytes.
func (g *gate) leave(entered bool, bytes int64) {
	if g == nil {
		return
	}
	g.bytes.Add(bytes)
	if entered {
		<-g.slots
	}
}

// set moves the count to n (shrinking waits for workers to leave).
func (g *gate) set(ctx context.Context, n int) {
	for g.held > cap(g.slots)-n {
		<-g.slots
		g.held--
	}
	for g.held < cap(g.slots)-n {
		select {
		case g.slots <- struct{}{}:
			g.held++
		case <-ctx.Done():
			return
		}
	}
	g.now.Store(int64(n))
}

// adapt runs the controller on g until ctx ends: at each tick it samples
// busy (the fraction of the cores busy or wanted now), and every
// adaptSamples ticks it measures the interval (wall from the ticks' times,
// the mean of the samples, bytes from the gate) and sets the count. The
// ticks and the sampling are given (tests drive them).
func adapt(ctx context.Context, g *gate, a *adaptive, tick <-chan time.Time, busy func() float64, log *slog.Logger) {
	var t0 time.Time
	var sum float64
	samples := 0
	b0 := g.bytes.Load()
	for {
		var t1 time.Time
		select {
		case <-ctx.Done():
			return
		case t1 = <-tick:
		}
		if t0.IsZero() {
			t0 = t1
			continue
		}
		sum += busy()
		if samples++; samples < adaptSamples {
			continue
		}
		b1 := g.bytes.Load()
		before := a.n
		g.countSeconds += float64(before) * t1.Sub(t0).Seconds()
		g.seconds += t1.Sub(t0).Seconds()
		n := a.step(measure{wall: t1.Sub(t0), busy: sum / float64(samples), bytes: b1 - b0})
		t0, b0, sum, samples = t1, b1, 0, 0
		if n != before {
			log.DebugContext(ctx, "ingest workers", "from", before, "to", n)
			g.set(ctx, n)
		}
	}
}

// coresBusy is the fraction of the process's cores (GOMAXPROCS) running Go
// code or wanted by goroutines ready to run, now (the scheduler's counts:
// a worker waiting on the network or in a write system call is neither).
// Those counts are live; the runtime's CPU-time estimates are updated only
// by the collector, too late for the controller.
func coresBusy() float64 {
	s := []metrics.Sample{{Name: "/sched/goroutines/running:goroutines"}, {Name: "/sched/goroutines/runnable:goroutines"},
		{Name: "/sched/gomaxprocs:threads"}}
	metrics.Read(s)
	for _, v := range s {
		if v.Value.Kind() != metrics.KindUint64 {
			return 0
		}
	}
	procs := max(s[2].Value.Uint64(), 1)
	running := max(s[0].Value.Uint64(), 1) - 1 // not the sampling goroutine itself
	return float64(min(running+s[1].Value.Uint64(), procs)) / float64(procs)
}

// startAdaptive starts the controller of a run with opt.Workers at most and
// the cores at least; it returns its gate and the function that stops it.
func startAdaptive(ctx context.Context, opt Options) (*gate, func()) {
	a := newAdaptive(runtime.GOMAXPROCS(0), opt.Workers)
	g := newGate(opt.Workers, a.n)
	ctx, cancel := context.WithCancel(ctx)
	t := time.NewTicker(adaptSample)
	done := make(chan struct{})
	go func() {
		defer close(done)
		adapt(ctx, g, a, t.C, coresBusy, opt.Logger)
	}()
	return g, func() { cancel(); t.Stop(); <-done }
}

// size is the source bytes of an item (0 without an image).
func (w *work) size() int64 {
	if w.obj == nil {
		return 0
	}
	return w.obj.Size
}
