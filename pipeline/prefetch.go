// The plan started before the session: listing the source and opening its
// manifest overlap with a run's fixed costs (issue 24 item 6).

package pipeline

import (
	"context"
	"time"
)

// Prefetch is a source listed and its manifest opened ahead of [Ingest],
// while the caller pays the run's fixed costs (the argon2id keyring unlock,
// a Vault login, reading the warehouse's descriptor and policy): none of
// them needs the source, and the listing needs no key. Nothing is written
// and nothing is decided from it before Ingest, which takes it through
// Options.Prefetched after its own checks (keys first, then the run's
// lease), so a run that fails to open its session reads the source and
// stops, as before. Close releases it when Ingest is not called.
type Prefetch struct {
	cancel context.CancelFunc
	done   chan struct{}
	pl     *planned
	err    error
	took   time.Duration
	taken  bool
}

// StartPrefetch starts listing opt.Source and opening its manifest
// (opt.Manifest, else opt.ManifestKey, else manifest.csv or
// manifest.parquet at its root) on a goroutine of its own, then the warm
// start (opt.Warm, in the shard opt.Shard of opt.Shards): the first
// objects download into memory, where the run's workers read them.
func StartPrefetch(ctx context.Context, opt Options) *Prefetch {
	ctx, cancel := context.WithCancel(ctx)
	p := &Prefetch{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		start := time.Now()
		p.pl, p.err = openPlan(ctx, opt)
		p.took = time.Since(start)
		if p.err == nil {
			// Fetching bytes needs no key: the first objects download
			// while the caller still unlocks (warm.go).
			p.pl.warm = startWarm(ctx, opt, p.pl)
		}
	}()
	return p
}

// take waits for the prefetch and hands its plan to the run.
func (p *Prefetch) take(ctx context.Context) (*planned, error) {
	select {
	case <-p.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.taken = true
	return p.pl, p.err
}

// Took is how long the listing and the manifest's opening took (after
// they are done), for the run's fixed-cost report.
func (p *Prefetch) Took() time.Duration {
	<-p.done
	return p.took
}

// Close releases a prefetch that Ingest did not take (its manifest
// stream and its warm start's buffers) and stops it. After Ingest took
// it, Close only ends its context (Ingest closed the manifest and the
// warm start). Idempotent.
func (p *Prefetch) Close() {
	if p == nil {
		return
	}
	if !p.taken {
		p.cancel()
		<-p.done
		if p.pl != nil {
			p.pl.close()
			p.pl.warm.close()
		}
		p.taken = true
	}
	p.cancel()
}
