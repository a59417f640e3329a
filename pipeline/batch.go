// A batch of an ingest: its items processed by the workers, its tables,
// its commit record, then the purge of its sources.

package pipeline

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"hdw/keys"
	"hdw/pseudo"
	"hdw/warehouse"
)

// DefaultBatchItems is the number of items of one batch when
// Options.BatchItems is 0.
const DefaultBatchItems = 10000

// feed hands the producer's items to the batches, one batch after the
// other; more tells whether another item comes (holding it back).
type feed struct {
	jobs   <-chan *work
	carry  *work
	closed bool // the producer closed jobs: it has returned
}

func (f *feed) next(ctx context.Context) (*work, bool) {
	if w := f.carry; w != nil {
		f.carry = nil
		return w, true
	}
	select {
	case w, ok := <-f.jobs:
		if !ok {
			f.closed = true
		}
		return w, ok
	case <-ctx.Done():
		return nil, false
	}
}

func (f *feed) more(ctx context.Context) bool {
	if f.carry != nil {
		return true
	}
	w, ok := f.next(ctx)
	f.carry = w
	return ok
}

// batchOpts is what every batch of a run shares.
type batchOpts struct {
	wh         *warehouse.Warehouse
	opt        Options
	deid       Deidentifier
	wk, pk, ok *pseudo.Keyed
	opposed    map[string]bool
	dedupe     *dedupe
	planErr    func() error // the producer's error, once its items are all taken
	gate       *gate        // the adaptive count of workers (nil: all of them)
}

// ingestBatch runs one batch: the next opt.BatchItems items of f (or all
// that remain), then its commit, then the purge of its sources. Its counts
// are added to sum. An error means this batch was not committed (earlier
// ones stay).
func ingestBatch(ctx context.Context, bo batchOpts, f *feed, sum *Summary) (err error) {
	var bs Summary // this batch's counts
	counted := false
	wh, opt, log := bo.wh, bo.opt, bo.opt.Logger
	limit := opt.BatchItems
	if limit <= 0 {
		limit = DefaultBatchItems
	}
	batch := warehouse.NewID(opt.Now())
	if !opt.DryRun {
		if err := writeLease(ctx, wh, batch, opt.Now().Add(opt.LeaseTTL)); err != nil {
			return fmt.Errorf("write batch lease: %w", err)
		}
	}
	deks, err := wh.NewBatchKeys(ctx, batch, []string{keys.Health, keys.Identity, keys.Genetic}, opt.DryRun)
	if err != nil {
		cleanupBatch(context.WithoutCancel(ctx), wh, batch)
		return err
	}
	defer func() {
		for _, d := range deks {
			d.Wipe()
		}
	}()

	tabs, err := openTables(ctx, wh, batch, deks, opt)
	if err != nil {
		cleanupBatch(context.WithoutCancel(ctx), wh, batch)
		return err
	}

	// Lease renewal while the batch runs.
	stopLease := func() {}
	if !opt.DryRun {
		stopLease = heartbeat(ctx, opt.LeaseTTL/3, func(c context.Context) bool {
			writeLease(c, wh, batch, opt.Now().Add(opt.LeaseTTL))
			return true
		})
	}

	jobs := make(chan *work)
	go func() {
		defer close(jobs)
		for i := 0; i < limit; i++ {
			w, ok := f.next(ctx)
			if !ok {
				return
			}
			select {
			case jobs <- w:
			case <-ctx.Done():
				return
			}
		}
	}()
	results := make(chan *result, opt.Workers)
	var wg sync.WaitGroup
	for i := 0; i < opt.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := worker{wh: wh, opt: opt, deid: bo.deid, wk: bo.wk.Clone(), pk: bo.pk.Clone(), ok: bo.ok.Clone(), opposed: bo.opposed, dek: deks[keys.Health], batch: batch, dedupe: bo.dedupe}
			defer p.wipe()
			for w := range jobs {
				in := bo.gate.enter(ctx)
				r := p.process(ctx, w)
				bo.gate.leave(in, w.size())
				results <- r
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()

	var sources []string
	var doneRows []int
	var contents []string
	var objects []warehouse.ObjectRef
	var ingestedObjs []string
	var writeErr error
	for r := range results {
		bs.Seen++
		var bytes int64
		if r.w.obj != nil {
			bytes = r.w.obj.Size
		}
		opt.Progress.Advance(1, bytes)
		switch r.outcome {
		case Ingested:
			if writeErr == nil {
				writeErr = tabs.add(r, batch, opt)
			}
			bs.Ingested++
			bs.Records++
			if r.imageKey != "" {
				bs.Images++
				bs.BytesIn += bytes
				bs.BytesOut += r.size
				objects = append(objects, warehouse.ObjectRef{Key: r.imageKey, Store: keys.Health, SHA256: r.sha, Size: r.size})
				if opt.PurgeSource {
					ingestedObjs = append(ingestedObjs, r.w.obj.Key)
				}
			}
			if hasGenetic(r.w.row) {
				bs.Genetic++
			}
			sources = append(sources, r.w.sourceID)
			if r.w.rowN > 0 {
				doneRows = append(doneRows, r.w.rowN)
			}
			if r.dedupeID != "" {
				contents = append(contents, r.dedupeID)
			}
		case Quarantined:
			bs.Quarantined++
			bs.Items = append(bs.Items, Item{Ref: r.w.ref, Outcome: Quarantined, Reason: r.reason})
		case Rejected:
			bs.Rejected++
			if r.opposed {
				bs.Opposed++
			}
			if r.duplicate {
				bs.Duplicates++
			}
			bs.Items = append(bs.Items, Item{Ref: r.w.ref, Outcome: Rejected, Reason: r.reason})
		}
	}
	stopLease()
	// The run's summary counts a batch once it is committed (or has
	// nothing to commit): an interrupted or failed batch is counted as not
	// committed, and a rerun processes its items again (issue 23).
	defer func() {
		if counted {
			sum.add(&bs)
		} else {
			sum.NotCommitted += bs.Seen
		}
	}()

	planErr := error(nil)
	if !f.more(ctx) && f.closed {
		// Every item was taken: the producer has returned (its error is
		// written before it closes jobs).
		planErr = bo.planErr()
	}
	if err := ctx.Err(); err != nil {
		tabs.abort()
		cleanupBatch(context.WithoutCancel(ctx), wh, batch)
		return fmt.Errorf("ingest interrupted, batch not committed: %w", err)
	}
	if planErr != nil {
		// The manifest failed after its first items: global, this batch is
		// not committed.
		tabs.abort()
		cleanupBatch(context.WithoutCancel(ctx), wh, batch)
		return planErr
	}
	if writeErr != nil {
		tabs.abort()
		cleanupBatch(context.WithoutCancel(ctx), wh, batch)
		return fmt.Errorf("write tables, batch not committed: %w", writeErr)
	}
	if opt.DryRun {
		tabs.abort()
		counted = true
		return nil
	}
	if bs.Ingested == 0 {
		tabs.abort()
		cleanupBatch(context.WithoutCancel(ctx), wh, batch)
		counted = true
		return nil
	}
	tabRefs, err := tabs.close()
	if err != nil {
		cleanupBatch(context.WithoutCancel(ctx), wh, batch)
		return fmt.Errorf("write tables, batch not committed: %w", err)
	}
	objects = append(objects, tabRefs...)
	sort.Strings(sources)
	c := warehouse.Commit{
		Batch: batch, Created: opt.Now().UTC(), Profile: opt.Profile, Operator: opt.Operator, Client: opt.Client,
		Sources: sources, Contents: contents, Objects: objects,
		Counts: map[string]int64{"seen": bs.Seen, "ingested": bs.Ingested, "quarantined": bs.Quarantined,
			"rejected": bs.Rejected, "images": bs.Images, "records": bs.Records, "genetic": bs.Genetic, "opposed": bs.Opposed},
	}
	if opt.Shards > 1 {
		c.Shard = fmt.Sprintf("%d/%d", opt.Shard, opt.Shards)
	}
	if v := bo.wk.Versions(); v > 1 {
		c.PseudoVersions = map[string]int{keys.Health: v, keys.Identity: v, keys.Genetic: v} // rotated key (package rotation)
	}
	if err := wh.WriteCommit(ctx, c); err != nil {
		cleanupBatch(context.WithoutCancel(ctx), wh, batch)
		return fmt.Errorf("write commit record, batch not committed: %w", err)
	}
	counted = true
	if opt.done != nil {
		for _, n := range doneRows {
			opt.done.add(n)
		}
	}
	if sum.Batch == "" {
		sum.Batch = batch
	}
	sum.Batches = append(sum.Batches, batch)
	sum.Committed = true
	wh.St.Delete(context.WithoutCancel(ctx), warehouse.PendingKey(batch))
	log.InfoContext(ctx, "batch committed", "batch", batch, "ingested", bs.Ingested)

	// SEC-ALI-1: purge the transit prefix, only after the commit.
	if opt.PurgeSource {
		for _, key := range ingestedObjs {
			if err := opt.Source.Delete(ctx, key); err != nil {
				log.WarnContext(ctx, "purge failed", "error", safeErr(err).Error())
				sum.PurgeFailed++
				continue
			}
			sum.Purged++
		}
	}
	return nil
}

// add adds a batch's counts to the run's.
func (s *Summary) add(b *Summary) {
	s.Seen += b.Seen
	s.Ingested += b.Ingested
	s.Quarantined += b.Quarantined
	s.Rejected += b.Rejected
	s.Opposed += b.Opposed
	s.Duplicates += b.Duplicates
	s.Images += b.Images
	s.Records += b.Records
	s.Genetic += b.Genetic
	s.BytesIn += b.BytesIn
	s.BytesOut += b.BytesOut
	s.Items = append(s.Items, b.Items...)
}

func hasGenetic(r *Row) bool {
	if r == nil {
		return false
	}
	for _, c := range []string{"gene", "variant", "zygosity", "interpretation"} {
		if r.Values.Get(c) != "" {
			return true
		}
	}
	return false
}
