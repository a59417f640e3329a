package pipeline

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"
)

// run models an ingest where n workers move rate(n) bytes/s keeping
// util(n) of the cores busy: it feeds the controller steps intervals of
// 500 ms and returns the count after each.
func run(a *adaptive, steps int, rate func(n int) float64, util func(n int) float64) []int {
	var out []int
	for range steps {
		n := a.n
		wall := 500 * time.Millisecond
		out = append(out, a.step(measure{wall: wall, busy: util(n), bytes: int64(rate(n) * wall.Seconds())}))
	}
	return out
}

func last(s []int) int { return s[len(s)-1] }

// TestIssue24_AdaptiveWorkersCPUBound: de-identification that keeps both
// cores busy whatever the count (photos): the count goes down to the cores
// and stays there, throughput unchanged.
func TestIssue24_AdaptiveWorkersCPUBound(t *testing.T) {
	a := newAdaptive(2, 8)
	ns := run(a, 20, func(int) float64 { return 20e6 }, func(int) float64 { return 0.97 })
	if ns[0] != 7 || last(ns) != 2 {
		t.Fatalf("counts %v: want 8 down to the 2 cores", ns)
	}
	for _, n := range ns {
		if n < 2 {
			t.Fatalf("counts %v: below the cores", ns)
		}
	}
}

// TestIssue24_AdaptiveWorkersIOBound: workers that mostly wait on the
// network (each adds 40 MB/s up to 10 of them, cores a third busy): from
// the cores the count climbs back to the most allowed and holds there.
func TestIssue24_AdaptiveWorkersIOBound(t *testing.T) {
	a := newAdaptive(2, 8)
	a.n = 2
	ns := run(a, 12, func(n int) float64 { return 40e6 * float64(min(n, 10)) }, func(n int) float64 { return 0.04 * float64(n) })
	if ns[0] != 3 || last(ns) != 8 {
		t.Fatalf("counts %v: want 2 up to 8", ns)
	}
}

// TestIssue24_AdaptiveWorkersUndoWhatDoesNotPay: cores idle but the
// throughput flat past 4 workers (a server that serves 4 at a time): a step
// to 5 is undone, held for holdSteps intervals, then tried again; a shrink
// below 3 on busy cores that costs throughput is undone too.
func TestIssue24_AdaptiveWorkersUndoWhatDoesNotPay(t *testing.T) {
	a := newAdaptive(2, 8)
	a.n = 4
	ns := run(a, 2+holdSteps+2, func(n int) float64 { return 30e6 * float64(min(n, 4)) }, func(int) float64 { return 0.5 })
	want := []int{5, 4, 4, 4, 4, 4, 5, 4}
	for i := range want {
		if ns[i] != want[i] {
			t.Fatalf("counts %v, want %v", ns, want)
		}
	}
	b := newAdaptive(2, 8)
	b.n = 3
	ns = run(b, 3, func(n int) float64 { return 30e6 * float64(n) }, func(int) float64 { return 0.95 })
	if ns[0] != 2 || ns[1] != 3 || ns[2] != 3 {
		t.Fatalf("counts %v: a shrink that cost a third of the throughput was kept", ns)
	}
}

// TestIssue24_AdaptiveWorkersNoEvidence: intervals where nothing finished
// (one large object in flight) leave the count where it is.
func TestIssue24_AdaptiveWorkersNoEvidence(t *testing.T) {
	a := newAdaptive(2, 8)
	for range 5 {
		if n := a.step(measure{wall: time.Second, busy: 1}); n != 8 {
			t.Fatalf("count moved to %d without a finished item", n)
		}
	}
}

// TestIssue24_AdaptiveDriverFakeClock: the driver on fake ticks and
// samples (both cores busy at every sample, bytes finishing) lowers the
// gate's count by one every adaptSamples samples, and the gate lets exactly
// that many workers in.
func TestIssue24_AdaptiveDriverFakeClock(t *testing.T) {
	g := newGate(8, 8)
	a := newAdaptive(2, 8)
	// Every sample: the cores busy, 1 MiB finished (the sampling runs on
	// the driver's goroutine, once per tick after the first).
	busy := func() float64 {
		g.leave(false, 1<<20)
		return 1
	}
	tick := make(chan time.Time)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		adapt(ctx, g, a, tick, busy, slog.New(slog.NewTextHandler(io.Discard, nil)))
	}()
	clock := time.Unix(0, 0)
	for range 1 + 4*adaptSamples + 1 {
		tick <- clock
		clock = clock.Add(adaptSample)
	}
	cancel()
	<-done
	if n := g.now.Load(); n != 4 || a.n != 4 {
		t.Fatalf("gate count %d (controller %d) after 4 CPU-bound intervals, want 4", n, a.n)
	}
	if m := g.mean(); m < 6.49 || m > 6.51 {
		t.Fatalf("mean count %.2f over intervals at 8, 7, 6, 5, want 6.5", m)
	}
	for range 4 {
		if !g.enter(context.Background()) {
			t.Fatal("a worker was refused below the count")
		}
	}
	short, stop := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer stop()
	if g.enter(short) {
		t.Fatal("a fifth worker let in with a count of 4")
	}
	for range 4 {
		g.leave(true, 0)
	}
}

// TestIssue24_CoresBusyIsAFraction: the live sample of the scheduler is
// between 0 and 1, and sees a goroutine that spins.
func TestIssue24_CoresBusyIsAFraction(t *testing.T) {
	var stop atomic.Bool
	go func() {
		for !stop.Load() {
		}
	}()
	defer stop.Store(true)
	seen := 0.0
	for range 50 {
		b := coresBusy()
		if b < 0 || b > 1 {
			t.Fatalf("coresBusy %v", b)
		}
		seen = max(seen, b)
		time.Sleep(time.Millisecond)
	}
	if seen == 0 {
		t.Fatal("coresBusy never saw the spinning goroutine (or the test's own)")
	}
}
