package audit_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"hdw/audit"
	"hdw/keys"
	"hdw/objstore"
)

var mac = audit.HMAC(keys.NewSecret(bytes.Repeat([]byte{7}, 32)))

func trail(t *testing.T, sessions, events int, now func() time.Time) (*objstore.Local, string) {
	t.Helper()
	dir := t.TempDir()
	st, _ := objstore.NewLocal(dir)
	ctx := context.Background()
	for s := 0; s < sessions; s++ {
		l, err := audit.Open(ctx, st, mac, audit.Options{Profile: "ingest", Operator: "LH-SVC-1", Now: now})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < events; i++ {
			if err := l.Append(ctx, audit.Event{Command: "ingest", Action: "batch.commit", Outcome: "ok", Target: map[string]string{"batch": "b"}, Counts: map[string]int64{"n": int64(i)}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Close(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return st, dir
}

func segments(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "audit/segments/*.jsonl"))
	return m
}

func edit(t *testing.T, path string, fn func([]string) []string) {
	t.Helper()
	os.Chmod(path, 0o644)
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	lines = fn(lines)
	os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644)
}

// TestSRS_060_VerifyDetectsTampering: edit, delete, reorder and truncate
// events, delete a whole segment: Verify names the first problem.
func TestSRS_060_VerifyDetectsTampering(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		mod  func(t *testing.T, dir string)
		kind string
	}{
		{"edit", func(t *testing.T, dir string) {
			edit(t, segments(t, dir)[1], func(l []string) []string { l[2] = strings.Replace(l[2], `"ok"`, `"failed"`, 1); return l })
		}, "bad-mac"},
		{"delete event", func(t *testing.T, dir string) {
			edit(t, segments(t, dir)[1], func(l []string) []string { return append(l[:2], l[3:]...) })
		}, "bad-mac"},
		{"reorder", func(t *testing.T, dir string) {
			edit(t, segments(t, dir)[1], func(l []string) []string { l[2], l[3] = l[3], l[2]; return l })
		}, "bad-mac"},
		{"truncate", func(t *testing.T, dir string) {
			edit(t, segments(t, dir)[1], func(l []string) []string { return l[:3] })
		}, "truncated"},
		{"delete segment", func(t *testing.T, dir string) {
			os.Remove(segments(t, dir)[1])
		}, "missing-segment"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, dir := trail(t, 3, 4, nil)
			if rep, _, err := audit.Verify(ctx, st, mac); err != nil || !rep.OK {
				t.Fatalf("clean trail: %+v %v", rep, err)
			}
			c.mod(t, dir)
			rep, _, err := audit.Verify(ctx, st, mac)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK || rep.First == nil {
				t.Fatal("tampering not detected")
			}
			found := false
			for _, p := range rep.Problems {
				if p.Kind == c.kind {
					found = true
				}
			}
			if !found {
				t.Fatalf("want a %s problem, got %+v", c.kind, rep.Problems)
			}
		})
	}
	// The chain itself (not only the seal) pins edits and reorders.
	st, dir := trail(t, 1, 4, nil)
	edit(t, segments(t, dir)[0], func(l []string) []string { l[2], l[3] = l[3], l[2]; return l })
	rep, _, _ := audit.Verify(ctx, st, mac)
	kinds := ""
	for _, p := range rep.Problems {
		kinds += p.Kind + " "
	}
	if !strings.Contains(kinds, "reordered") {
		t.Fatalf("reorder must be named: %s", kinds)
	}
}

// TestSRS_065_SinkNotWritable: Open fails before the command acts.
func TestSRS_065_SinkNotWritable(t *testing.T) {
	dir := t.TempDir()
	st, _ := objstore.NewLocal(dir)
	os.Chmod(dir, 0o500)
	defer os.Chmod(dir, 0o700)
	if os.Geteuid() == 0 {
		// root ignores permissions: use a store that fails.
		_, err := audit.Open(context.Background(), failing{st}, mac, audit.Options{})
		if err == nil {
			t.Fatal("open must fail on an unwritable sink")
		}
		return
	}
	if _, err := audit.Open(context.Background(), st, mac, audit.Options{}); err == nil {
		t.Fatal("open must fail on an unwritable sink")
	}
}

type failing struct{ objstore.Store }

func (failing) PutIfAbsent(context.Context, string, io.Reader) error { return errors.New("disk full") }

// TestSEC_DAY_1_NoPHI: identifying-looking values are refused.
func TestSEC_DAY_1_NoPHI(t *testing.T) {
	for _, v := range []string{"185057800608491", "jean.dupont@example.org", "06 12 34 56 78", "2 90 12 2A 004 123 67"} {
		if err := (audit.Event{Target: map[string]string{"x": v}}).Check(); !errors.Is(err, audit.ErrPHI) {
			t.Errorf("%q accepted", v)
		}
	}
	if err := (audit.Event{Target: map[string]string{"batch": "20261122T101010Z-ab12", "request": "DPO-2026-17"}}).Check(); err != nil {
		t.Fatal(err)
	}
}

// TestSEC_DAY_1_ConcurrentWriters: parallel sessions never collide.
func TestSEC_DAY_1_ConcurrentWriters(t *testing.T) {
	st, _ := objstore.NewLocal(t.TempDir())
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := audit.Open(ctx, st, mac, audit.Options{Profile: "ingest"})
			if err != nil {
				t.Error(err)
				return
			}
			l.Append(ctx, audit.Event{Action: "a", Outcome: "ok"})
			if err := l.Close(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	rep, _, err := audit.Verify(ctx, st, mac)
	if err != nil || !rep.OK || rep.Segments != 8 {
		t.Fatalf("%+v %v", rep, err)
	}
}

// TestSEC_DAY_3_Review flags re-identifications, refusals, off-hours and bursts.
func TestSEC_DAY_3_Review(t *testing.T) {
	st, _ := objstore.NewLocal(t.TempDir())
	ctx := context.Background()
	night := time.Date(2026, 11, 3, 2, 0, 0, 0, time.UTC)
	l, _ := audit.Open(ctx, st, mac, audit.Options{Profile: "dpo", Operator: "LH-USR-1", Now: func() time.Time { return night }})
	l.Append(ctx, audit.Event{Command: "reidentify", Action: "reidentify.emergency", Outcome: "ok", Target: map[string]string{"request": "R1"}})
	l.Append(ctx, audit.Event{Command: "workspace pull", Action: "workspace.pull", Outcome: "denied"})
	for i := 0; i < 12; i++ {
		l.Append(ctx, audit.Event{Command: "workspace pull", Action: "workspace.pull", Outcome: "ok", Time: night.Add(time.Duration(i) * time.Minute)})
	}
	l.Close(ctx)
	an, rep, err := audit.Review(ctx, st, mac, night.Add(-time.Hour), audit.ReviewRules{})
	if err != nil || !rep.OK {
		t.Fatal(err, rep)
	}
	kinds := map[string]int{}
	for _, a := range an {
		kinds[a.Kind]++
	}
	for _, k := range []string{"reidentification", "refused", "off-hours", "pull-burst"} {
		if kinds[k] == 0 {
			t.Errorf("review misses %s: %v", k, kinds)
		}
	}
}

// TestSEC_DAY_4_Retention: old segments go, the trail still verifies.
func TestSEC_DAY_4_Retention(t *testing.T) {
	old := time.Now().AddDate(-2, 0, 0)
	st, _ := trail(t, 2, 2, func() time.Time { return old })
	ctx := context.Background()
	// newer segments chain onto the old ones
	l, _ := audit.Open(ctx, st, mac, audit.Options{})
	l.Append(ctx, audit.Event{Action: "x", Outcome: "ok"})
	l.Close(ctx)
	if _, err := audit.Retention(ctx, st, time.Now(), 24*time.Hour, false); err == nil {
		t.Fatal("retention below 6 months must be refused")
	}
	gone, err := audit.Retention(ctx, st, time.Now(), 365*24*time.Hour, false)
	if err != nil || len(gone) != 2 {
		t.Fatal(gone, err)
	}
	rep, _, err := audit.Verify(ctx, st, mac)
	if err != nil || !rep.OK || rep.Segments != 1 {
		t.Fatalf("after retention: %+v %v", rep, err)
	}
}

func FuzzParseSegment(f *testing.F) {
	f.Add([]byte("{\"segment\":\"x\",\"version\":1}\n{\"seq\":1}\n{\"mac\":\"00\"}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		audit.ParseSegment(context.Background(), "f", data, mac)
	})
}

func BenchmarkAppend(b *testing.B) {
	st, _ := objstore.NewLocal(b.TempDir())
	l, _ := audit.Open(context.Background(), st, mac, audit.Options{})
	ev := audit.Event{Command: "ingest", Action: "batch.commit", Outcome: "ok", Target: map[string]string{"batch": "b"}}
	b.ReportAllocs()
	for b.Loop() {
		l.Append(context.Background(), ev)
	}
}
