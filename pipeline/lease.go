package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"hdw/objstore"
	"hdw/warehouse"
)

// One ingest at a time per warehouse (issue 23). A run holds a live lease,
// locks/ingest.json, written with a conditional PUT (PutIfAbsent) and
// renewed by a heartbeat every TTL/3; a second run finds it and waits
// (Options.Wait) or stops with ErrIngestRunning, which names the operator
// and the start time. A lease whose expiry has passed (a run killed with
// SIGKILL, a lost node) is stale: the next run removes it and takes its
// place. Shards of an Indexed Job run at the same time, each holding the
// lease of its shard (locks/ingest-shard-I-of-N.json): two runs of the same
// shard exclude each other, n shards share the warehouse (their commit
// records merge, see README "Kubernetes").

// ErrIngestRunning means another ingest holds the warehouse's lease.
var ErrIngestRunning = errors.New("another ingest is running")

// RunningError is ErrIngestRunning with who holds the lease.
type RunningError struct {
	Operator string
	Since    time.Time
	Expires  time.Time
}

func (e *RunningError) Error() string {
	return fmt.Sprintf("another ingest (%s, since %s) is running on this warehouse; wait for it to finish, or rerun with --wait (its lease expires at %s if it died)",
		e.Operator, e.Since.UTC().Format(time.RFC3339), e.Expires.UTC().Format(time.RFC3339))
}

func (e *RunningError) Unwrap() error { return ErrIngestRunning }

type runLease struct {
	Token    string    `json:"token"`
	Operator string    `json:"operator"`
	Profile  string    `json:"profile,omitempty"`
	Shard    string    `json:"shard,omitempty"`
	Since    time.Time `json:"since"`
	Expires  time.Time `json:"expires"`
	// Host and PID of the run: a run on the same host whose process is
	// gone (killed with SIGKILL) left a stale lease before its expiry.
	Host string `json:"host,omitempty"`
	PID  int    `json:"pid,omitempty"`
}

// dead reports whether the lease's run is known to be gone: same host, no
// such process.
func (l runLease) dead() bool {
	h, err := os.Hostname()
	return err == nil && l.Host != "" && l.Host == h && l.PID > 0 && l.PID != os.Getpid() && !processAlive(l.PID)
}

// RunLeaseKey is the key of the lease of a run (shard i of n, or the whole warehouse).
func RunLeaseKey(shard, shards int) string {
	if shards > 1 {
		return fmt.Sprintf("locks/ingest-shard-%d-of-%d.json", shard, shards)
	}
	return "locks/ingest.json"
}

// acquireRun takes the run's lease and starts its heartbeat. lost is
// called if the lease is taken by another run (it expired: the heartbeat
// could not renew it in time); release stops the heartbeat and removes
// the lease.
func acquireRun(ctx context.Context, st objstore.Store, opt Options, lost func()) (release func(), err error) {
	key := RunLeaseKey(opt.Shard, opt.Shards)
	me := runLease{Token: randomToken(), Operator: opt.Operator, Profile: opt.Profile, Since: opt.Now().UTC()}
	if opt.Shards > 1 {
		me.Shard = fmt.Sprintf("%d/%d", opt.Shard, opt.Shards)
	}
	me.Host, _ = os.Hostname()
	me.PID = os.Getpid()
	if me.Operator == "" {
		me.Operator = "unknown operator"
	}
	put := func() error {
		me.Expires = opt.Now().Add(opt.LeaseTTL).UTC()
		b, _ := json.Marshal(me)
		return st.PutIfAbsent(ctx, key, bytes.NewReader(b))
	}
	for {
		err := put()
		if err == nil {
			break
		}
		if !errors.Is(err, objstore.ErrExist) {
			return nil, fmt.Errorf("take the ingest lease: %w", err)
		}
		var other runLease
		if rerr := objstore.ReadJSON(ctx, st, key, 1<<16, &other); rerr != nil {
			if errors.Is(rerr, objstore.ErrNotExist) {
				continue // released in between
			}
			return nil, fmt.Errorf("read the ingest lease: %w", rerr)
		}
		if opt.Now().After(other.Expires) || other.dead() {
			// Stale: its run died. Only one run may remove it: the one
			// whose takeover marker for that lease's token is written
			// first (PutIfAbsent, atomic on both stores). Without it, a
			// run that read the stale lease late could delete the lease
			// another run had just taken, and both would ingest.
			marker := key + ".takeover-" + other.Token
			if err := st.PutIfAbsent(ctx, marker, strings.NewReader(me.Token)); err != nil {
				if !errors.Is(err, objstore.ErrExist) {
					return nil, fmt.Errorf("take over the stale ingest lease: %w", err)
				}
				// Another run is taking it over: read the lease again shortly.
				select {
				case <-ctx.Done():
					return nil, fmt.Errorf("waiting for the other ingest: %w", ctx.Err())
				case <-time.After(50 * time.Millisecond):
				}
				continue
			}
			st.Delete(ctx, key)
			continue
		}
		if !opt.Wait {
			return nil, &RunningError{Operator: other.Operator, Since: other.Since, Expires: other.Expires}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the other ingest: %w", ctx.Err())
		case <-time.After(min(opt.LeaseTTL/3, 5*time.Second)):
		}
	}
	cleanTakeoverMarkers(ctx, st, key, opt.Now().Add(-2*opt.LeaseTTL))
	stopBeat := heartbeat(context.WithoutCancel(ctx), opt.LeaseTTL/3, func(c context.Context) bool {
		var cur runLease
		if err := objstore.ReadJSON(c, st, key, 1<<16, &cur); err == nil && cur.Token != me.Token {
			lost()
			return false
		} else if err != nil && !errors.Is(err, objstore.ErrNotExist) {
			return true // a transient fault: retry at the next tick
		}
		me.Expires = opt.Now().Add(opt.LeaseTTL).UTC()
		objstore.WriteJSON(c, st, key, me)
		return true
	})
	return func() {
		stopBeat()
		c := context.WithoutCancel(ctx)
		var cur runLease
		if err := objstore.ReadJSON(c, st, key, 1<<16, &cur); err == nil && cur.Token == me.Token {
			st.Delete(c, key)
		}
	}, nil
}

// heartbeat calls beat every period until ctx ends, beat returns false or
// stop is called; stop returns once it has stopped (the run lease and the
// batch leases are renewed this way).
func heartbeat(ctx context.Context, period time.Duration, beat func(context.Context) bool) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if !beat(ctx) {
				return
			}
		}
	}()
	return func() { cancel(); <-done }
}

// cleanTakeoverMarkers removes the takeover markers of lease key older
// than before (best effort): a run that read a stale lease that long ago
// has long since read the new one. A fresh marker is kept, so that a late
// run cannot take over the same stale lease twice.
func cleanTakeoverMarkers(ctx context.Context, st objstore.Store, key string, before time.Time) {
	dir := key[:strings.LastIndexByte(key, '/')+1]
	for info, err := range st.List(ctx, dir) {
		if err != nil {
			return
		}
		if strings.HasPrefix(info.Key, key+".takeover-") && info.ModTime.Before(before) {
			st.Delete(ctx, info.Key)
		}
	}
}

// cleanCommittedLeases removes the batch leases (pending/) left by runs
// that committed their batch but died before removing the lease: the
// commit record makes them useless, and RemoveOrphans never touches a
// committed batch.
func cleanCommittedLeases(ctx context.Context, st objstore.Store) (int, error) {
	var left []string
	for info, err := range st.List(ctx, "pending/") {
		if err != nil {
			return 0, err
		}
		b, ok := strings.CutSuffix(strings.TrimPrefix(info.Key, "pending/"), ".json")
		if !ok {
			continue
		}
		if _, err := st.Stat(ctx, warehouse.CommitKey(b)); err == nil {
			left = append(left, info.Key)
		}
	}
	for _, k := range left {
		st.Delete(ctx, k)
	}
	return len(left), nil
}
