package audit_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
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
	"hdw/objstore/storetest"
)

var testMAC = audit.HMAC(keys.NewSecret(bytes.Repeat([]byte{7}, 32)))

// clock is a fixed, advancing test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(t time.Time) *clock { return &clock{t: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

func newStore(t testing.TB) (*objstore.Local, string) {
	t.Helper()
	dir := t.TempDir()
	st := storetest.Local(t, dir)
	return st, dir
}

// session writes one closed session of n events and returns its id.
func session(t testing.TB, st objstore.Store, now func() time.Time, batch, n int) string {
	t.Helper()
	ctx := context.Background()
	l, err := audit.Open(ctx, st, testMAC, audit.Options{Profile: "ingest", Operator: "LH-SVC-0001", Source: "runner-1", Now: now, Batch: batch})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		ev := audit.Event{Command: "ingest", Action: "batch.commit", Outcome: audit.OutcomeOK,
			Target: map[string]string{"batch": "b-01", "client": "clinic-a"}, Counts: map[string]int64{"records": int64(i)}}
		if err := l.Append(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return l.ID()
}

func partPath(dir, id string, part int) string {
	return filepath.Join(dir, "audit", "segments", id, []string{"000000", "000001", "000002", "000003", "000004"}[part]+".jsonl")
}

func headPath(dir string, n int) string {
	return filepath.Join(dir, "audit", "heads", "00000000000"+string(rune('0'+n)))
}

// editLines rewrites a trail file (made read-only by the log).
func editLines(t *testing.T, path string, fn func([]string) []string) {
	t.Helper()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	lines = fn(lines)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fixture is a trail of three closed sessions written three days ago:
// A (batch 100: part 1 holds 4 events and the close event, lines 2..6),
// B and C (batch 1: one part per event).
type fixture struct {
	st      *objstore.Local
	dir     string
	a, b, c string
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	st, dir := newStore(t)
	clk := newClock(time.Now().Add(-72 * time.Hour))
	f := fixture{st: st, dir: dir}
	f.a = session(t, st, clk.Now, 100, 4)
	f.b = session(t, st, clk.Now, 1, 3)
	f.c = session(t, st, clk.Now, 1, 2)
	return f
}

// TestSRS_060_061_VerifyFindsTampering: each tampering of a copy of the
// trail is found, and the first problem names the file and line.
func TestSRS_060_061_VerifyFindsTampering(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		mod  func(t *testing.T, f fixture)
		kind string
		file func(f fixture) string // object key of the first problem
		line int
	}{
		{"edit event", func(t *testing.T, f fixture) {
			editLines(t, partPath(f.dir, f.a, 1), func(l []string) []string {
				l[2] = strings.Replace(l[2], `"ok"`, `"failed"`, 1)
				return l
			})
		}, audit.KindEdited, func(f fixture) string { return "audit/segments/" + f.a + "/000001.jsonl" }, 3},
		{"edit last event", func(t *testing.T, f fixture) {
			editLines(t, partPath(f.dir, f.a, 1), func(l []string) []string {
				l[5] = strings.Replace(l[5], `"runner-1"`, `"runner-2"`, 1)
				return l
			})
		}, audit.KindEdited, func(f fixture) string { return "audit/segments/" + f.a + "/000001.jsonl" }, 6},
		{"edit header", func(t *testing.T, f fixture) {
			editLines(t, partPath(f.dir, f.a, 1), func(l []string) []string {
				l[0] = strings.Replace(l[0], `"written":"2`, `"written":"1`, 1)
				return l
			})
		}, audit.KindEdited, func(f fixture) string { return "audit/segments/" + f.a + "/000001.jsonl" }, 1},
		{"non-canonical edit", func(t *testing.T, f fixture) {
			editLines(t, partPath(f.dir, f.a, 1), func(l []string) []string {
				l[3] = strings.Replace(l[3], `,"`, `, "`, 1)
				return l
			})
		}, audit.KindMalformed, func(f fixture) string { return "audit/segments/" + f.a + "/000001.jsonl" }, 4},
		{"delete event", func(t *testing.T, f fixture) {
			editLines(t, partPath(f.dir, f.a, 1), func(l []string) []string { return append(l[:2], l[3:]...) })
		}, audit.KindMissingEvent, func(f fixture) string { return "audit/segments/" + f.a + "/000001.jsonl" }, 3},
		{"reorder events", func(t *testing.T, f fixture) {
			editLines(t, partPath(f.dir, f.a, 1), func(l []string) []string { l[2], l[3] = l[3], l[2]; return l })
		}, audit.KindReordered, func(f fixture) string { return "audit/segments/" + f.a + "/000001.jsonl" }, 3},
		{"truncate", func(t *testing.T, f fixture) {
			editLines(t, partPath(f.dir, f.a, 1), func(l []string) []string { return l[:4] })
		}, audit.KindTruncated, func(f fixture) string { return "audit/segments/" + f.a + "/000001.jsonl" }, 5},
		{"forged seal", func(t *testing.T, f fixture) {
			// a seal made without the audit key
			p := partPath(f.dir, f.b, 1)
			editLines(t, p, func(l []string) []string {
				l[len(l)-1] = strings.Replace(l[len(l)-1], `"mac":"`, `"mac":"00`, 1)
				return l
			})
		}, audit.KindBadMAC, func(f fixture) string { return "audit/segments/" + f.b + "/000001.jsonl" }, 3},
		{"delete part", func(t *testing.T, f fixture) {
			os.Remove(partPath(f.dir, f.b, 2))
		}, audit.KindMissingSegment, func(f fixture) string { return "audit/segments/" + f.b + "/000002.jsonl" }, 0},
		{"delete last part", func(t *testing.T, f fixture) {
			os.Remove(partPath(f.dir, f.b, 4))
		}, audit.KindUnclosed, func(f fixture) string { return "audit/segments/" + f.b + "/000003.jsonl" }, 0},
		{"delete whole session", func(t *testing.T, f fixture) {
			os.RemoveAll(filepath.Join(f.dir, "audit", "segments", f.b))
		}, audit.KindMissingSegment, func(f fixture) string { return "audit/segments/" + f.b + "/000000.jsonl" }, 0},
		{"delete session and its head", func(t *testing.T, f fixture) {
			os.RemoveAll(filepath.Join(f.dir, "audit", "segments", f.b))
			os.Remove(headPath(f.dir, 1))
		}, audit.KindMissingSegment, func(fixture) string { return "audit/heads/000000000001" }, 0},
		{"delete newest head", func(t *testing.T, f fixture) {
			os.Remove(headPath(f.dir, 2))
		}, audit.KindUnlinked, func(f fixture) string { return "audit/segments/" + f.c + "/000000.jsonl" }, 0},
		{"swap heads", func(t *testing.T, f fixture) {
			a, _ := os.ReadFile(headPath(f.dir, 0))
			b, _ := os.ReadFile(headPath(f.dir, 1))
			os.Chmod(headPath(f.dir, 0), 0o644)
			os.Chmod(headPath(f.dir, 1), 0o644)
			os.WriteFile(headPath(f.dir, 0), b, 0o644)
			os.WriteFile(headPath(f.dir, 1), a, 0o644)
		}, audit.KindReordered, func(f fixture) string { return "audit/heads/000000000000" }, 1},
		{"swap sessions' parts", func(t *testing.T, f fixture) {
			a, _ := os.ReadFile(partPath(f.dir, f.b, 1))
			b, _ := os.ReadFile(partPath(f.dir, f.b, 2))
			os.Chmod(partPath(f.dir, f.b, 1), 0o644)
			os.Chmod(partPath(f.dir, f.b, 2), 0o644)
			os.WriteFile(partPath(f.dir, f.b, 1), b, 0o644)
			os.WriteFile(partPath(f.dir, f.b, 2), a, 0o644)
		}, audit.KindReordered, func(f fixture) string { return "audit/segments/" + f.b + "/000001.jsonl" }, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			rep, segs, err := audit.Verify(ctx, f.st, testMAC)
			if err != nil || !rep.OK || rep.Sessions != 3 || len(segs) != 3 {
				t.Fatalf("clean trail: %+v %v", rep, err)
			}
			c.mod(t, f)
			rep, _, err = audit.Verify(ctx, f.st, testMAC)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK || rep.First == nil {
				t.Fatal("tampering not detected")
			}
			got := *rep.First
			if got.Kind != c.kind || got.File != c.file(f) || got.Line != c.line {
				t.Fatalf("first problem %+v, want %s at %s line %d (all: %+v)", got, c.kind, c.file(f), c.line, rep.Problems)
			}
		})
	}
}

// TestSRS_060_OtherKey: a trail verified with another key fails on every seal.
func TestSRS_060_OtherKey(t *testing.T) {
	f := newFixture(t)
	other := audit.HMAC(keys.NewSecret(bytes.Repeat([]byte{9}, 32)))
	rep, _, err := audit.Verify(context.Background(), f.st, other)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || rep.First.Kind != audit.KindBadMAC {
		t.Fatalf("%+v", rep.First)
	}
}

// failingStore refuses writes once broken is set.
type failingStore struct {
	objstore.Store
	mu     sync.Mutex
	broken bool
}

func (f *failingStore) PutIfAbsent(ctx context.Context, key string, r io.Reader) error {
	f.mu.Lock()
	broken := f.broken
	f.mu.Unlock()
	if broken {
		return errors.New("disk full")
	}
	return f.Store.PutIfAbsent(ctx, key, r)
}

func (f *failingStore) brk() { f.mu.Lock(); f.broken = true; f.mu.Unlock() }

// TestSRS_065_SinkNotWritable: Open fails before the command acts, and an
// Append that cannot be written fails (and every later call too).
func TestSRS_065_SinkNotWritable(t *testing.T) {
	ctx := context.Background()
	t.Run("audit folder is a file", func(t *testing.T) {
		st, dir := newStore(t)
		if err := os.WriteFile(filepath.Join(dir, "audit"), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := audit.Open(ctx, st, testMAC, audit.Options{}); !errors.Is(err, audit.ErrSink) {
			t.Fatalf("open: %v", err)
		}
	})
	t.Run("read-only folder", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Log("root ignores folder permissions: covered by the cases above")
			return
		}
		st, dir := newStore(t)
		os.Chmod(dir, 0o500)
		defer os.Chmod(dir, 0o700)
		_, err := audit.Open(ctx, st, testMAC, audit.Options{})
		if !errors.Is(err, audit.ErrSink) {
			t.Fatalf("open on a read-only folder: %v", err)
		}
	})
	t.Run("failing store", func(t *testing.T) {
		st, dir := newStore(t)
		fs := &failingStore{Store: st}
		fs.brk()
		if _, err := audit.Open(ctx, fs, testMAC, audit.Options{}); !errors.Is(err, audit.ErrSink) {
			t.Fatalf("open: %v", err)
		}
		if m, _ := filepath.Glob(filepath.Join(dir, "audit", "*", "*")); len(m) != 0 {
			t.Fatalf("open wrote %v", m)
		}
	})
	t.Run("no key", func(t *testing.T) {
		st, _ := newStore(t)
		if _, err := audit.Open(ctx, st, nil, audit.Options{}); !errors.Is(err, audit.ErrSink) {
			t.Fatalf("open: %v", err)
		}
	})
	t.Run("sink breaks mid-session", func(t *testing.T) {
		st, _ := newStore(t)
		fs := &failingStore{Store: st}
		l, err := audit.Open(ctx, fs, testMAC, audit.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Append(ctx, audit.Event{Action: "a", Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
		fs.brk()
		if err := l.Append(ctx, audit.Event{Action: "b", Outcome: "ok"}); !errors.Is(err, audit.ErrSink) {
			t.Fatalf("append on a broken sink: %v", err)
		}
		if err := l.Append(ctx, audit.Event{Action: "c", Outcome: "ok"}); !errors.Is(err, audit.ErrSink) {
			t.Fatalf("append after a failure: %v", err)
		}
		if err := l.Close(ctx); !errors.Is(err, audit.ErrSink) {
			t.Fatalf("close: %v", err)
		}
		// What was appended before the failure is durable; the session shows open.
		rep, segs, err := audit.Verify(ctx, st, testMAC)
		if err != nil || !rep.OK || len(rep.Open) != 1 || len(segs[0].Events) != 2 {
			t.Fatalf("%+v %+v %v", rep, segs, err)
		}
	})
}

// TestSRS_060_VerifyDuringOpen: a head whose first segment is not written
// yet (a session opening during the verification) is not a deletion.
func TestSRS_060_VerifyDuringOpen(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	session(t, st, nil, 1, 1)
	fs := &failingStore{Store: st}
	l, err := audit.Open(ctx, fs, testMAC, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	l.Append(ctx, audit.Event{Action: "a", Outcome: "ok"})
	// emulate the moment between the head and the first segment
	os.RemoveAll(filepath.Join(st.Root(), "audit", "segments", l.ID()))
	rep, _, err := audit.Verify(ctx, st, testMAC)
	if err != nil || !rep.OK || len(rep.Open) != 1 || rep.Sessions != 2 {
		t.Fatalf("%+v %v", rep, err)
	}
}

// TestSRS_065_CrashKeepsEvents: a session that never closes keeps every
// appended event; Verify lists it as open, then as unclosed after OpenGrace.
func TestSRS_065_CrashKeepsEvents(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		age   time.Duration
		ok    bool
		nopen int
	}{{"young", time.Minute, true, 1}, {"old", 2 * audit.OpenGrace, false, 0}} {
		t.Run(c.name, func(t *testing.T) {
			st, _ := newStore(t)
			clk := newClock(time.Now().Add(-c.age))
			l, err := audit.Open(ctx, st, testMAC, audit.Options{Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				if err := l.Append(ctx, audit.Event{Action: "workspace.pull", Outcome: "ok"}); err != nil {
					t.Fatal(err)
				}
			}
			// crash: no Close
			rep, segs, err := audit.Verify(ctx, st, testMAC)
			if err != nil || rep.OK != c.ok || len(rep.Open) != c.nopen || len(segs[0].Events) != 4 {
				t.Fatalf("%+v %v", rep, err)
			}
			if !c.ok && rep.First.Kind != audit.KindUnclosed {
				t.Fatalf("%+v", rep.First)
			}
		})
	}
}

// TestSEC_DAY_1_PHIGuard: identifying-looking values are refused and
// nothing is written; references pass.
func TestSEC_DAY_1_PHIGuard(t *testing.T) {
	cases := []struct {
		name string
		ev   audit.Event
		kind string // "" when accepted
	}{
		{"nir 15", audit.Event{Target: map[string]string{"request": "185057800600078"}}, "nir"},
		{"nir 13 spaced", audit.Event{Reason: "patient 1 85 05 78 006 000"}, "nir"},
		{"nir corsica", audit.Event{Target: map[string]string{"x": "2 90 12 2A 004 000 93"}}, "nir"},
		{"email", audit.Event{Reason: "asked by jean.dupont@example.org"}, "email"},
		{"phone", audit.Event{Target: map[string]string{"contact": "06 12 34 56 78"}}, "phone"},
		{"phone intl", audit.Event{Reason: "call +33612345678"}, "phone"},
		{"birth date key", audit.Event{Target: map[string]string{"birth_date": "x"}}, "identifying field"},
		{"name key", audit.Event{Target: map[string]string{"LastName": "x"}}, "identifying field"},
		{"date value", audit.Event{Target: map[string]string{"request": "1985-05-12"}}, "date"},
		{"date in reason", audit.Event{Reason: "born 12/05/1985"}, "date"},
		{"nir as count", audit.Event{Counts: map[string]int64{"rows": 1850578006084}}, "nir"},
		{"references", audit.Event{Command: "export approve", Action: "export.approve", Outcome: "ok",
			Target: map[string]string{"batch": "20261122T101010Z-ab12", "request": "DPO-2026-17", "export": "e-3f2a",
				"proof_sha256": "0123456789012345678901234567890123456789012345678901234567890123", "since": "2026-09-01"},
			Counts: map[string]int64{"records": 1200, "identity_rows": 3}, Reason: "reviewed: aggregated counts only",
			Operator: "LH-SVC-550e8400-e29b-41d4-a716-446655440000", Source: "10.0.0.12"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.ev.Check()
			if c.kind == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var pe *audit.PHIError
			if !errors.Is(err, audit.ErrPHI) || !errors.As(err, &pe) || pe.Kind != c.kind {
				t.Fatalf("got %v, want a %s refusal", err, c.kind)
			}
		})
	}
	// Append refuses before writing anything.
	st, dir := newStore(t)
	l, err := audit.Open(context.Background(), st, testMAC, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = l.Append(context.Background(), cases[0].ev)
	if !errors.Is(err, audit.ErrPHI) {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "audit", "segments", l.ID(), "*")); len(m) != 1 {
		t.Fatalf("a refused event was written: %v", m)
	}
	if strings.Contains(err.Error(), "185057800600078") {
		t.Fatal("the error quotes the value")
	}
}

// TestSEC_DAY_1_ConcurrentWriters: parallel sessions on one store never
// collide and the heads form one chain.
func TestSEC_DAY_1_ConcurrentWriters(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()
	const writers = 8
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			l, err := audit.Open(ctx, st, testMAC, audit.Options{Profile: "ingest"})
			if err != nil {
				t.Error(err)
				return
			}
			for range 5 {
				if err := l.Append(ctx, audit.Event{Action: "batch.commit", Outcome: "ok"}); err != nil {
					t.Error(err)
				}
			}
			if err := l.Close(ctx); err != nil {
				t.Error(err)
			}
		})
	}
	// Verifying while they write never reports a sound trail as broken.
	done := make(chan struct{})
	verified := make(chan error, 1)
	go func() {
		for {
			select {
			case <-done:
				verified <- nil
				return
			default:
			}
			rep, _, err := audit.Verify(ctx, st, testMAC)
			if err == nil && !rep.OK {
				err = fmt.Errorf("concurrent verify: %+v", rep.Problems)
			}
			if err != nil {
				verified <- err
				return
			}
		}
	}()
	wg.Wait()
	close(done)
	if err := <-verified; err != nil {
		t.Fatal(err)
	}
	rep, _, err := audit.Verify(ctx, st, testMAC)
	if err != nil || !rep.OK || rep.Sessions != writers || rep.Events != writers*7 {
		t.Fatalf("%+v %v", rep, err)
	}
}

// TestSRS_059_ReadOnlyAndLocked: closed local objects are read-only; a
// store with Object Lock gets every object through PutLocked.
func TestSRS_059_ReadOnlyAndLocked(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	fi, err := os.Stat(partPath(f.dir, f.a, 0))
	if err != nil || fi.Mode().Perm() != 0o400 {
		t.Fatalf("segment mode %v %v", fi.Mode(), err)
	}
	st, _ := newStore(t)
	ls := &lockStore{Store: st}
	l, err := audit.Open(ctx, ls, testMAC, audit.Options{LockMode: "COMPLIANCE", LockFor: 180 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	l.Append(ctx, audit.Event{Action: "a", Outcome: "ok"})
	l.Close(ctx)
	if ls.n != 4 || ls.mode != "COMPLIANCE" { // head + 3 parts
		t.Fatalf("locked writes %d mode %q", ls.n, ls.mode)
	}
	if rep, _, err := audit.Verify(ctx, st, testMAC); err != nil || !rep.OK {
		t.Fatalf("%+v %v", rep, err)
	}
}

type lockStore struct {
	objstore.Store
	n    int
	mode string
}

func (s *lockStore) PutLocked(ctx context.Context, key string, r io.Reader, mode string, until time.Time) error {
	s.n++
	s.mode = mode
	return s.Store.PutIfAbsent(ctx, key, r)
}

// TestSEC_DAY_3_Review: the review of a real trail flags the expected
// anomalies, and the trail problems come first.
func TestSEC_DAY_3_Review(t *testing.T) {
	st, dir := newStore(t)
	ctx := context.Background()
	night := time.Date(2026, 11, 3, 2, 0, 0, 0, time.UTC) // a Tuesday
	clk := newClock(night)
	l, err := audit.Open(ctx, st, testMAC, audit.Options{Profile: "dpo", Operator: "LH-USR-1", Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	l.Append(ctx, audit.Event{Command: "reidentify", Action: "reidentify.emergency", Outcome: "ok", Target: map[string]string{"request": "R1"}})
	l.Append(ctx, audit.Event{Command: "workspace pull", Action: "workspace.pull", Outcome: "denied"})
	for range 12 {
		l.Append(ctx, audit.Event{Command: "workspace pull", Action: "workspace.pull", Outcome: "ok"})
	}
	l.Close(ctx)
	an, rep, err := audit.Review(ctx, st, testMAC, nil, night.Add(-time.Hour), audit.ReviewRules{})
	if err != nil || !rep.OK {
		t.Fatal(err, rep)
	}
	kinds := map[string]int{}
	for _, a := range an {
		kinds[a.Kind]++
	}
	want := map[string]int{audit.AnomalyReidentification: 1, audit.AnomalyRefused: 1, audit.AnomalyOffHours: 1, audit.AnomalyPullBurst: 1}
	for k, n := range want {
		if kinds[k] != n {
			t.Errorf("%s: %d anomalies, want %d (%v)", k, kinds[k], n, kinds)
		}
	}
	os.Remove(partPath(dir, l.ID(), 1))
	an, _, err = audit.Review(ctx, st, testMAC, nil, night.Add(-time.Hour), audit.ReviewRules{})
	if err != nil || an[0].Kind != audit.AnomalyTrail {
		t.Fatalf("%v %+v", err, an)
	}
}

// TestSEC_DAY_3_Anomalies: the rules, table-driven, with a fixed clock.
func TestSEC_DAY_3_Anomalies(t *testing.T) {
	tue := time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC) // a Tuesday, 10:00 UTC
	ev := func(at time.Time, op, action, outcome string) audit.Event {
		return audit.Event{Time: at, Operator: op, Profile: "curator", Action: action, Outcome: outcome}
	}
	pulls := func(n int, every time.Duration, op string) []audit.Event {
		var out []audit.Event
		for i := range n {
			out = append(out, ev(tue.Add(time.Duration(i)*every), op, "workspace.pull", "ok"))
		}
		return out
	}
	paris, _ := time.LoadLocation("Europe/Paris")
	cases := []struct {
		name   string
		events []audit.Event
		open   bool
		since  time.Time
		rules  audit.ReviewRules
		want   []string
	}{
		{"quiet working day", []audit.Event{ev(tue, "u1", "batch.ingest", "ok")}, false, time.Time{}, audit.ReviewRules{}, nil},
		{"reidentification", []audit.Event{ev(tue, "u1", "reidentify.recontact", "ok")}, false, time.Time{}, audit.ReviewRules{}, []string{"reidentification"}},
		{"refused", []audit.Event{ev(tue, "u1", "rights.access", "denied")}, false, time.Time{}, audit.ReviewRules{}, []string{"refused"}},
		{"quarantined export", []audit.Event{ev(tue, "u1", "export.quarantine", "alert")}, false, time.Time{}, audit.ReviewRules{}, []string{"quarantine"}},
		{"alert", []audit.Event{ev(tue, "u1", "audit.verify", "alert")}, false, time.Time{}, audit.ReviewRules{}, []string{"alert"}},
		{"key rotation", []audit.Event{ev(tue, "u1", "keys.rotate", "ok")}, false, time.Time{}, audit.ReviewRules{}, []string{"key-operation"}},
		{"night, once per session", []audit.Event{ev(tue.Add(-8*time.Hour), "u1", "a", "ok"), ev(tue.Add(-7*time.Hour), "u1", "b", "ok")}, false, time.Time{}, audit.ReviewRules{}, []string{"off-hours"}},
		{"evening end bound", []audit.Event{ev(tue.Add(10*time.Hour), "u1", "a", "ok")}, false, time.Time{}, audit.ReviewRules{}, []string{"off-hours"}},
		{"custom hours", []audit.Event{ev(tue, "u1", "a", "ok")}, false, time.Time{}, audit.ReviewRules{WorkStart: 11, WorkEnd: 18}, []string{"off-hours"}},
		{"paris hours", []audit.Event{ev(tue.Add(-4*time.Hour), "u1", "a", "ok")}, false, time.Time{}, audit.ReviewRules{Location: paris}, nil},
		{"weekend", []audit.Event{ev(tue.AddDate(0, 0, 4), "u1", "a", "ok")}, false, time.Time{}, audit.ReviewRules{}, []string{"off-hours"}},
		{"weekend worked", []audit.Event{ev(tue.AddDate(0, 0, 4), "u1", "a", "ok")}, false, time.Time{}, audit.ReviewRules{WeekendsWorked: true}, nil},
		{"pull burst", pulls(10, time.Minute, "u1"), false, time.Time{}, audit.ReviewRules{}, []string{"pull-burst"}},
		{"pulls spread out", pulls(10, 10*time.Minute, "u1"), false, time.Time{}, audit.ReviewRules{}, nil},
		{"custom burst", pulls(3, time.Minute, "u1"), false, time.Time{}, audit.ReviewRules{PullBurst: 3}, []string{"pull-burst"}},
		{"before since", []audit.Event{ev(tue, "u1", "keys.rotate", "ok")}, false, tue.Add(time.Hour), audit.ReviewRules{}, nil},
		{"open session", []audit.Event{ev(tue, "u1", "batch.ingest", "ok")}, true, time.Time{}, audit.ReviewRules{}, []string{"unclosed"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			seg := audit.Segment{ID: "s1", Closed: !c.open, Events: c.events}
			var got []string
			for _, a := range audit.Anomalies([]audit.Segment{seg}, c.since, c.rules) {
				got = append(got, a.Kind)
			}
			if strings.Join(got, ",") != strings.Join(c.want, ",") {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
}

// TestSEC_DAY_4_Retention: with the clock set forward, old sessions go,
// the newest stays, the trail still verifies, and a deletion after
// retention is still caught.
func TestSEC_DAY_4_Retention(t *testing.T) {
	ctx := context.Background()
	st, dir := newStore(t)
	now := time.Now()
	old := newClock(now.AddDate(0, -14, 0))
	var ids []string
	for range 3 {
		ids = append(ids, session(t, st, old.Now, 1, 2))
	}
	mid := newClock(now.AddDate(0, -3, 0))
	ids = append(ids, session(t, st, mid.Now, 1, 2), session(t, st, mid.Now, 1, 2))

	for _, keep := range []time.Duration{24 * time.Hour, 400 * 24 * time.Hour} {
		if _, err := audit.Retention(ctx, st, testMAC, now, keep, false); err == nil {
			t.Fatalf("keep %v accepted", keep)
		}
	}
	gone, err := audit.Retention(ctx, st, testMAC, now, 365*24*time.Hour, true)
	if err != nil || len(gone) != 3 {
		t.Fatalf("dry run: %v %v", gone, err)
	}
	if rep, _, _ := audit.Verify(ctx, st, testMAC); rep.Sessions != 5 {
		t.Fatal("dry run deleted")
	}
	gone, err = audit.Retention(ctx, st, testMAC, now, 365*24*time.Hour, false)
	if err != nil || strings.Join(gone, ",") != strings.Join(ids[:3], ",") {
		t.Fatalf("retention: %v %v", gone, err)
	}
	rep, _, err := audit.Verify(ctx, st, testMAC)
	if err != nil || !rep.OK || rep.Sessions != 2 {
		t.Fatalf("after retention: %+v %v", rep, err)
	}
	// New sessions still chain, then the clock goes forward a year:
	// everything but the newest goes.
	session(t, st, nil, 1, 1)
	gone, err = audit.Retention(ctx, st, testMAC, now.AddDate(1, 0, 0), 180*24*time.Hour, false)
	if err != nil || len(gone) != 2 {
		t.Fatalf("forward: %v %v", gone, err)
	}
	rep, _, err = audit.Verify(ctx, st, testMAC)
	if err != nil || !rep.OK || rep.Sessions != 1 {
		t.Fatalf("after forward retention: %+v %v", rep, err)
	}
	newest := session(t, st, newClock(now.Add(-time.Hour)).Now, 1, 1)
	// A deletion that is not retention is still caught.
	os.RemoveAll(filepath.Join(dir, "audit", "segments", newest))
	if rep, _, _ := audit.Verify(ctx, st, testMAC); rep.OK {
		t.Fatal("deleted session not detected after retention")
	}
	// A forged checkpoint (wrong key) does not excuse deleted heads.
	st2, _ := newStore(t)
	for range 3 {
		session(t, st2, old.Now, 1, 1)
	}
	if _, err := audit.Retention(ctx, st2, audit.HMAC(keys.NewSecret([]byte("other key, 32 bytes long, really"))), now, 365*24*time.Hour, false); err != nil {
		t.Fatal(err)
	}
	if rep, _, _ := audit.Verify(ctx, st2, testMAC); rep.OK || rep.First.Kind != audit.KindBadMAC {
		t.Fatalf("forged checkpoint: %+v", rep.First)
	}
}

// leakyLockStore stores the object, then refuses the lock (what versitygw
// does on a bucket without Object Lock).
type leakyLockStore struct{ objstore.Store }

func (s leakyLockStore) PutLocked(ctx context.Context, key string, r io.Reader, mode string, until time.Time) error {
	if err := s.Store.PutIfAbsent(ctx, key, r); err != nil {
		return err
	}
	return errors.New("s3: object lock not supported by this bucket")
}

// TestSRS_059_LockUnsupported: a refused lock falls back to write-once
// puts (the object already stored is recognised as ours), unless
// RequireLock is set.
func TestSRS_059_LockUnsupported(t *testing.T) {
	ctx := context.Background()
	st, _ := newStore(t)
	ls := leakyLockStore{st}
	l, err := audit.Open(ctx, ls, testMAC, audit.Options{LockMode: "GOVERNANCE", LockFor: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append(ctx, audit.Event{Action: "a", Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if rep, _, err := audit.Verify(ctx, st, testMAC); err != nil || !rep.OK || rep.Sessions != 1 {
		t.Fatalf("%+v %v", rep, err)
	}
	st2, _ := newStore(t)
	if _, err := audit.Open(ctx, leakyLockStore{st2}, testMAC, audit.Options{LockMode: "GOVERNANCE", RequireLock: true}); !errors.Is(err, audit.ErrSink) {
		t.Fatalf("required lock refused: %v", err)
	}
}
