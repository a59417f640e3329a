package pipeline

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"log/slog"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"hdw/configs"
	"hdw/keys"
	"hdw/masking"
	"hdw/objstore"
	"hdw/pseudo"
	"hdw/warehouse"
)

// Keys is what ingest needs from the key provider (ingest profile).
type Keys interface {
	warehouse.KeySource
	PseudonymKey(ctx context.Context, name string) (keys.Secret, error)
}

// Deidentifier de-identifies one image (package masking).
type Deidentifier interface {
	Deidentify(ctx context.Context, dst io.Writer, src io.Reader, size int64, p masking.Person, o masking.Options) (masking.Result, error)
}

// Progress receives progress reports; cmd/ renders them.
type Progress interface {
	Start(items int, bytes int64)
	Advance(items int, bytes int64)
	Done()
}

type noProgress struct{}

func (noProgress) Start(int, int64)   {}
func (noProgress) Advance(int, int64) {}
func (noProgress) Done()              {}

// Options configure one ingest run.
type Options struct {
	Source       objstore.Store
	ManifestKey  string    // key of the manifest in Source ("" = manifest.csv or manifest.parquet at the root)
	Manifest     io.Reader // a manifest given outside the source (--manifest FILE); overrides ManifestKey
	ManifestName string    // name used in messages for Manifest
	SourceID     string    // stable description of the source for rerun detection (bucket+prefix or folder)
	Client       string
	Workers      int
	DryRun       bool
	PurgeSource  bool
	Shard        int // 0-based shard index
	Shards       int // number of shards (0 or 1: no sharding)
	Dict         *configs.Dictionary
	Mask         masking.Options // base options: DICOM options, masks, limits, OCR
	ScrubText    func(string, masking.Person) string
	Profile      string
	Operator     string
	Logger       *slog.Logger
	Progress     Progress
	Now          func() time.Time
	LeaseTTL     time.Duration
	// Wait makes a run that finds another ingest running wait for it
	// instead of stopping with ErrIngestRunning.
	Wait bool
	// Encoding and Delimiter of a CSV manifest (CSVOptions).
	Encoding  string
	Delimiter rune
	// done collects the manifest rows committed (this run or an earlier
	// one), for --purge-source's manifest rewrite.
	done *rowSet
	// BatchItems is the most items of one batch (0: DefaultBatchItems). A
	// larger run commits several batches, one after the other.
	BatchItems int
}

// Outcomes of an item.
const (
	Ingested    = "ingested"
	Quarantined = "quarantined"
	Rejected    = "rejected"
)

// Item is an input that was not ingested, with its reason. Ref names it
// by manifest row or by content hash, never by its original name.
type Item struct {
	Ref     string `json:"ref"`
	Outcome string `json:"outcome"`
	Reason  string `json:"reason"`
}

// Summary accounts for every input: Seen = Ingested + Quarantined + Rejected.
type Summary struct {
	Batch       string   `json:"batch,omitempty"`   // the first batch committed
	Batches     []string `json:"batches,omitempty"` // every batch committed, in order
	DryRun      bool     `json:"dry_run"`
	Committed   bool     `json:"committed"`
	Seen        int64    `json:"seen"`
	Ingested    int64    `json:"ingested"`
	Quarantined int64    `json:"quarantined"`
	Rejected    int64    `json:"rejected"`
	Opposed     int64    `json:"opposed"` // rejected because the person opposed (CNIL 9.7)
	// Duplicates: rejected because the same image content is already
	// stored for the same person (an earlier run, or this one).
	Duplicates  int64 `json:"duplicates"`
	Skipped     int64 `json:"skipped_already_committed"`
	Images      int64 `json:"images"`
	Records     int64 `json:"records"`
	Genetic     int64 `json:"genetic_records"`
	BytesIn     int64 `json:"bytes_in"`
	BytesOut    int64 `json:"bytes_out"`
	Purged      int64 `json:"purged_source_objects"`
	PurgeFailed int64 `json:"purge_failed,omitempty"`
	Orphans     int64 `json:"orphan_batches_removed"`
	// NotCommitted counts the items of batches that were not committed
	// (interrupted run, write failure): not in the counts above, processed
	// again by a rerun.
	NotCommitted int64 `json:"not_committed,omitempty"`
	// ManifestRewritten: --purge-source rewrote the manifest to the rows
	// that were not ingested (the ingested rows' lines are gone).
	ManifestRewritten bool    `json:"manifest_rewritten,omitempty"`
	Items             []Item  `json:"items,omitempty"`
	Seconds           float64 `json:"seconds"`
}

// ErrNoManifest means the source has no manifest.
var ErrNoManifest = errors.New("no manifest.csv or manifest.parquet in the source; upload one or pass --manifest FILE")

// work is one input item.
type work struct {
	n        int // order of the item in the run (for stable output)
	row      *Row
	rowErr   error
	obj      *objstore.Info
	ref      string
	rowN     int // manifest row (0: an image without a row)
	sourceID string
	shardKey string
}

type result struct {
	w        *work
	outcome  string
	reason   string
	opposed  bool
	imageKey string
	res      masking.Result
	sha      string
	size     int64
	// duplicate: same content already stored for the person; dedupeID:
	// the content id this item claimed (kept in the commit's sources).
	duplicate bool
	rejected  bool // the de-identifier refused the input as not storable (masking.RejectError)
	dedupeID  string
	pseudo    string
	rec       map[string]string
}

// Ingest runs one batch. A global failure (keys, warehouse, manifest header)
// returns an error and commits nothing; item failures are accounted in the
// Summary.
func Ingest(ctx context.Context, wh *warehouse.Warehouse, k Keys, deid Deidentifier, opt Options) (*Summary, error) {
	start := time.Now()
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.Progress == nil {
		opt.Progress = noProgress{}
	}
	if opt.Workers < 1 {
		opt.Workers = 1
	}
	if opt.Dict == nil {
		opt.Dict = configs.DefaultDictionary()
	}
	if opt.ScrubText == nil {
		return nil, errors.New("ingest: no free-text scrubber configured")
	}
	if opt.LeaseTTL == 0 {
		opt.LeaseTTL = 10 * time.Minute
	}

	// Keys first: unreachable keys stop the run before anything is written.
	wk, err := pseudoKey(ctx, k, keys.PseudoWarehouse)
	if err != nil {
		return nil, err
	}
	defer wk.Wipe()
	pk, err := pseudoKey(ctx, k, keys.PseudoProfessional)
	if err != nil {
		return nil, err
	}
	defer pk.Wipe()
	ok, err := pseudoKey(ctx, k, keys.PseudoOpposition)
	if err != nil {
		return nil, err
	}
	defer ok.Wipe()

	sum := &Summary{DryRun: opt.DryRun}
	if !opt.DryRun {
		// One ingest at a time per warehouse (per shard): issue 23.
		runCtx, lostLease := context.WithCancelCause(ctx)
		defer lostLease(nil)
		release, err := acquireRun(ctx, wh.St, opt, func() {
			lostLease(errors.New("the ingest lease was taken by another run (this run could not renew it in time)"))
		})
		if err != nil {
			return nil, err
		}
		defer release()
		ctx = runCtx
		if _, err := cleanCommittedLeases(ctx, wh.St); err != nil {
			return nil, fmt.Errorf("clean batch leases: %w", err)
		}
		n, err := RemoveOrphans(ctx, wh, opt.Now())
		if err != nil {
			return nil, fmt.Errorf("remove orphan batches: %w", err)
		}
		sum.Orphans = int64(n)
	}
	committed, err := committedSources(ctx, wh)
	if err != nil {
		return nil, err
	}
	opposed, err := warehouse.LoadOpposition(ctx, wh.St)
	if err != nil {
		return nil, err
	}

	if opt.PurgeSource && !opt.DryRun && opt.Manifest == nil {
		opt.done = &rowSet{m: map[int]bool{}}
	}
	pl, err := openPlan(ctx, opt)
	if err != nil {
		return nil, err
	}
	// From here the producer below owns pl and closes its manifest.
	estItems, total := pl.estimate(opt, wk, committed)

	// The manifest is streamed to the workers by a producer started now:
	// it validates the header and reads up to the first item of this run
	// before anything is written, so that a bad header (or a manifest
	// that fails before its first item) stops the run with nothing
	// written. It stops when planCtx is cancelled.
	planCtx, stopPlan := context.WithCancel(ctx)
	defer stopPlan()
	jobs := make(chan *work)
	ready := make(chan error, 1)
	planDone := make(chan struct{})
	var planSkipped int64
	var planErr error
	go func() {
		defer close(planDone)
		defer close(jobs)
		signalled := false
		signal := func(err error) {
			if !signalled {
				signalled = true
				ready <- err
			}
		}
		planSkipped, planErr = pl.run(planCtx, opt, wk, committed, func(w *work) error {
			signal(nil)
			select {
			case jobs <- w:
				return nil
			case <-planCtx.Done():
				return planCtx.Err()
			}
		})
		signal(planErr)
	}()
	if err := <-ready; err != nil {
		stopPlan()
		<-planDone
		return nil, err
	}
	opt.Progress.Start(estItems, total)
	defer opt.Progress.Done()

	// Batches of at most opt.BatchItems items, each committed on its own:
	// what a run holds for its commit record is bounded, and an interrupted
	// run keeps the batches it committed (a rerun skips them).
	f := &feed{jobs: jobs}
	bo := batchOpts{wh: wh, opt: opt, deid: deid, wk: wk, pk: pk, ok: ok, opposed: opposed,
		dedupe:  &dedupe{committed: committed, run: map[string]bool{}},
		planErr: func() error { return planErr }}
	for first := true; first || f.more(ctx); first = false {
		if err := ingestBatch(ctx, bo, f, sum); err != nil {
			stopPlan()
			<-planDone
			sum.Skipped += planSkipped
			finish(sum, start)
			return sum, err
		}
	}
	<-planDone
	sum.Skipped += planSkipped
	finish(sum, start)
	if err := ctx.Err(); err != nil {
		return sum, fmt.Errorf("ingest interrupted: %w", err)
	}
	if planErr != nil {
		return sum, planErr
	}
	if opt.DryRun {
		return sum, nil
	}
	// SEC-ALI-1: the manifest goes last, once every row is ingested; else
	// it is rewritten to the rows that stay (quarantined, rejected).
	if opt.PurgeSource && opt.Manifest == nil && opt.done != nil && opt.done.len() > 0 {
		if mk, err := manifestKey(ctx, opt); err == nil {
			if sum.Quarantined == 0 && sum.Rejected == 0 {
				if opt.Source.Delete(ctx, mk) == nil {
					sum.Purged++
				}
			} else if !strings.HasSuffix(strings.ToLower(mk), ".parquet") {
				if err := rewriteManifest(ctx, opt, mk, opt.done); err != nil {
					opt.Logger.WarnContext(ctx, "manifest rewrite failed", "error", safeErr(err).Error())
					sum.PurgeFailed++
				} else {
					sum.ManifestRewritten = true
				}
			}
		}
	}
	return sum, nil
}

// finish sorts the items of a summary and sets its duration.
func finish(sum *Summary, start time.Time) {
	sort.Slice(sum.Items, func(i, j int) bool { return itemLess(sum.Items[i].Ref, sum.Items[j].Ref) })
	sum.Seconds = time.Since(start).Seconds()
}

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
	leaseCtx, stopLease := context.WithCancel(ctx)
	var leaseWG sync.WaitGroup
	if !opt.DryRun {
		leaseWG.Add(1)
		go func() {
			defer leaseWG.Done()
			t := time.NewTicker(opt.LeaseTTL / 3)
			defer t.Stop()
			for {
				select {
				case <-leaseCtx.Done():
					return
				case <-t.C:
					writeLease(leaseCtx, wh, batch, opt.Now().Add(opt.LeaseTTL))
				}
			}
		}()
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
				results <- p.process(ctx, w)
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
	leaseWG.Wait()
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

func pseudoKey(ctx context.Context, k Keys, name string) (*pseudo.Keyed, error) {
	s, err := k.PseudonymKey(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("fetch pseudonym key %s: %w", name, err)
	}
	defer s.Wipe()
	return pseudo.New(s)
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

// itemLess orders refs like "manifest.csv row 9" before "row 10".
func itemLess(a, b string) bool {
	na, nb := trailingNum(a), trailingNum(b)
	if na >= 0 && nb >= 0 && strings.TrimRight(a, "0123456789") == strings.TrimRight(b, "0123456789") {
		return na < nb
	}
	return a < b
}

func trailingNum(s string) int {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	n, err := strconv.Atoi(s[i:])
	if err != nil {
		return -1
	}
	return n
}

// ShardOf returns the shard (0..n-1) of a source key: FNV-1a of the key mod n.
func ShardOf(key string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	return int(h.Sum64() % uint64(n))
}

func manifestKey(ctx context.Context, opt Options) (string, error) {
	if opt.ManifestKey != "" {
		return opt.ManifestKey, nil
	}
	for _, k := range []string{"manifest.csv", "manifest.parquet"} {
		_, err := opt.Source.Stat(ctx, k)
		if err == nil {
			return k, nil
		}
		if !errors.Is(err, objstore.ErrNotExist) {
			// Credentials, bucket, network, region: say which, not "no manifest".
			return "", fmt.Errorf("read source %s: %w", opt.Source, safeErr(err))
		}
	}
	// No manifest: a missing bucket (S3 answers a HEAD with a bare 404) or
	// an empty prefix (a mistyped or doubled prefix) says so.
	for _, err := range opt.Source.List(ctx, "") {
		if err != nil {
			return "", fmt.Errorf("list source %s: %w", opt.Source, safeErr(err))
		}
		return "", ErrNoManifest
	}
	return "", fmt.Errorf("%w: %s", ErrSourceEmpty, opt.Source)
}

// ErrSourceEmpty means the source holds no object at all.
var ErrSourceEmpty = errors.New("the source is empty (no object under this prefix or folder): check the bucket and prefix (a missing or doubled client folder?) or that the upload finished")

// planned is an ingest's source: its listing and its open manifest. The
// manifest is not held: run streams its rows, paired with their images, to
// the workers as it reads them, so that an ingest holds the rows in flight
// and the listing, not the whole manifest (issue 9: memory flat in the
// number of files).
type planned struct {
	objs        listing
	mr          io.Reader
	closer      io.Closer
	mkey, mname string
}

// openPlan lists the source and opens its manifest.
func openPlan(ctx context.Context, opt Options) (*planned, error) {
	pl := &planned{mname: opt.ManifestName}
	if opt.Manifest != nil {
		pl.mr = opt.Manifest
		if pl.mname == "" {
			pl.mname = "manifest"
		}
	} else {
		k, err := manifestKey(ctx, opt)
		if err != nil {
			return nil, err
		}
		pl.mkey, pl.mname = k, k
	}
	var mInfo objstore.Info
	for info, err := range opt.Source.List(ctx, "") {
		if err != nil {
			return nil, fmt.Errorf("list source: %w", safeErr(err))
		}
		if info.Key == pl.mkey || info.Key == "manifest.csv" || info.Key == "manifest.parquet" {
			if info.Key == pl.mkey {
				mInfo = info
			}
			continue
		}
		base := path.Base(info.Key)
		if strings.HasPrefix(base, ".") { // hidden files and our own temporaries
			continue
		}
		pl.objs.add(info)
	}
	pl.objs.sort()
	if pl.mr == nil {
		rc, err := opt.Source.Open(ctx, pl.mkey)
		if err != nil {
			return nil, fmt.Errorf("open manifest: %w", err)
		}
		if ro, ok := opt.Source.(objstore.RangeOpener); ok && mInfo.ETag != "" {
			// Streamed for the whole run: resume a cut connection.
			rc = &resumingReader{ctx: ctx, st: ro, key: pl.mkey, etag: mInfo.ETag, rc: rc}
		}
		pl.mr, pl.closer = rc, rc
	}
	return pl, nil
}

// close closes the manifest (idempotent).
func (pl *planned) close() {
	if pl.closer != nil {
		pl.closer.Close()
		pl.closer = nil
	}
}

// estimate returns the images of the listing in this run (in the shard,
// not committed) and their bytes, for the progress report; rows without an
// image are counted as they come.
func (pl *planned) estimate(opt Options, wk *pseudo.Keyed, committed map[string]bool) (int, int64) {
	var n int
	var total int64
	for i := range pl.objs.len() {
		info := pl.objs.info(i)
		if opt.Shards > 1 && ShardOf(info.Key, opt.Shards) != opt.Shard {
			continue
		}
		if committed[objSourceID(wk, opt, &info)] {
			continue
		}
		n++
		total += info.Size
	}
	return n, total
}

func objSourceID(wk *pseudo.Keyed, opt Options, obj *objstore.Info) string {
	return sourceID(wk, opt.SourceID, "obj", obj.Key+"|"+obj.ETag+"|"+strconv.FormatInt(obj.Size, 10))
}

// run reads the manifest, pairs each row with its image and calls emit
// with the items of this run (in the shard, not committed), in manifest
// order, then the images without a row in key order. It returns the number
// of items skipped because an earlier run committed them. A *ManifestError
// is global: the caller commits nothing.
func (pl *planned) run(ctx context.Context, opt Options, wk *pseudo.Keyed, committed map[string]bool, emit func(*work) error) (skipped int64, err error) {
	defer pl.close()
	objs, mname := &pl.objs, pl.mname
	read := func(r io.Reader, file string, d *configs.Dictionary, _ int, fn func(*Row, error) error) error {
		return ReadCSVWith(r, file, d, CSVOptions{Encoding: opt.Encoding, Delimiter: opt.Delimiter}, fn)
	}
	if strings.HasSuffix(strings.ToLower(mname), ".parquet") {
		read = func(r io.Reader, file string, d *configs.Dictionary, _ int, fn func(*Row, error) error) error {
			return ReadParquet(r, file, d, fn)
		}
	}
	// keep filters an item: shard, then what is committed.
	keep := func(w *work) error {
		if opt.Shards > 1 && ShardOf(w.shardKey, opt.Shards) != opt.Shard {
			return nil
		}
		if w.sourceID != "" && committed[w.sourceID] {
			skipped++
			if w.rowN > 0 && opt.done != nil {
				opt.done.add(w.rowN)
			}
			return nil
		}
		return emit(w) // emit stops on ctx
	}
	n := 0
	err = read(pl.mr, mname, opt.Dict, 0, func(row *Row, rerr error) error {
		n++
		w := &work{n: n, row: row, rowErr: rerr}
		rowNum := n
		var re *RowError
		if errors.As(rerr, &re) {
			rowNum = re.Row
			if i, ok := objs.find(re.path); ok && !objs.isUsed(i) {
				// The image of a rejected row belongs to that row's outcome.
				objs.use(i)
				info := objs.info(i)
				w.obj = &info
				w.shardKey = info.Key
			}
		} else if row != nil {
			rowNum = row.N
		}
		w.rowN = rowNum
		w.ref = fmt.Sprintf("%s row %d", mname, rowNum)
		if w.shardKey == "" {
			w.shardKey = fmt.Sprintf("row:%d", rowNum)
		}
		if row != nil && row.File() != "" {
			if i, ok := objs.find(row.File()); ok {
				objs.use(i)
				info := objs.info(i)
				w.obj = &info
				w.shardKey = info.Key
			} else {
				w.rowErr = &RowError{File: mname, Row: rowNum, Column: "file", Reason: "no such file in the upload; upload it or remove the row"}
				w.row = nil
			}
		}
		if w.rowErr != nil {
			// rejected rows are never committed: no source id
		} else if w.obj != nil {
			w.sourceID = objSourceID(wk, opt, w.obj)
		} else if row != nil {
			w.sourceID = sourceID(wk, opt.SourceID, "row", rowFingerprint(row))
		}
		return keep(w)
	})
	if err != nil {
		return skipped, err
	}
	// Images without a row: quarantined, never ingested without a known person.
	// The listing is in key order.
	for i := range objs.len() {
		if objs.isUsed(i) {
			continue
		}
		info := objs.info(i)
		n++
		if err := keep(&work{n: n, obj: &info, shardKey: info.Key}); err != nil {
			return skipped, err
		}
	}
	return skipped, nil
}

// sourceID is the keyed hash that identifies a source item across runs
// without storing its name.
func sourceID(wk *pseudo.Keyed, source, kind, s string) string {
	return hex.EncodeToString(wk.Sum("source", source+"|"+kind+"|"+s)[:16])
}

func rowFingerprint(r *Row) string {
	var names []string
	for k := range r.Values.All() {
		names = append(names, k)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, k := range names {
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(r.Values.Get(k))
		b.WriteByte(0)
	}
	return b.String()
}

func committedSources(ctx context.Context, wh *warehouse.Warehouse) (map[string]bool, error) {
	cs, err := wh.Commits(ctx)
	if err != nil {
		return nil, fmt.Errorf("read commit records: %w", err)
	}
	m := map[string]bool{}
	for _, c := range cs {
		for _, s := range c.Sources {
			m[s] = true
		}
		for _, s := range c.Contents {
			m["content:"+s] = true
		}
	}
	return m, nil
}

func randomToken() string {
	b := make([]byte, 20)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

type hashWriter struct {
	w    io.Writer
	h    interface{ Write([]byte) (int, error) }
	size int64
}

func (h *hashWriter) Write(p []byte) (int, error) {
	n, err := h.w.Write(p)
	h.h.Write(p[:n])
	h.size += int64(n)
	return n, err
}

var _ = sha256.New

// safeErr drops the path of a file-system error: source paths carry the
// client's file and folder names, which never reach a message.
func safeErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}
