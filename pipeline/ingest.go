package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
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
	// Prefetched is the source listed and its manifest opened ahead of the
	// run (StartPrefetch, with this run's Source and manifest options);
	// nil: Ingest lists and opens them itself.
	Prefetched *Prefetch
	// Warm bounds the warm start of StartPrefetch (the zero value: the
	// defaults of WarmStart).
	Warm WarmStart
	// warm is the warm start taken from Prefetched, read by the workers.
	warm *warmSet
	// Ranges fetches the source's large objects with ranged parallel GETs
	// (issue 24 item 2; nil: objstore.NewRanges's defaults, one set of
	// range buffers for the run).
	Ranges *objstore.Ranges
	// AdaptWorkers makes Workers the most items processed at once: how many
	// run follows what is measured, down to the cores while they are busy,
	// back up while they wait (adapt.go). False: always Workers.
	AdaptWorkers bool
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
	ManifestRewritten bool `json:"manifest_rewritten,omitempty"`
	// WorkersMean and WorkersLast: with Options.AdaptWorkers, the mean
	// number of items processed at once over the run and the last.
	WorkersMean float64 `json:"workers_mean,omitempty"`
	WorkersLast int     `json:"workers_last,omitempty"`
	// WarmObjects and WarmBytes: the objects a prefetch downloaded during
	// the run's fixed costs that the workers read from memory (issue 24
	// item 6); WarmReadyBytes: the bytes downloaded by the time the
	// session was open and the run took the prefetch.
	WarmObjects    int64   `json:"warm_objects,omitempty"`
	WarmBytes      int64   `json:"warm_bytes,omitempty"`
	WarmReadyBytes int64   `json:"warm_ready_bytes,omitempty"`
	Items          []Item  `json:"items,omitempty"`
	Seconds        float64 `json:"seconds"`
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
	if opt.Ranges == nil {
		opt.Ranges = objstore.NewRanges(0, 0, 0)
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
	var pl *planned
	if opt.Prefetched != nil {
		pl, err = opt.Prefetched.take(ctx)
	} else {
		pl, err = openPlan(ctx, opt)
	}
	if err != nil {
		return nil, err
	}
	// The warm start's buffers are the workers' until the run ends (warm.go).
	pl.warm.markReady()
	defer pl.warm.report(sum)
	opt.warm = pl.warm
	pl.warm.drop(func(info objstore.Info) bool { return committed[objSourceID(wk, opt, &info)] })
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
	if opt.AdaptWorkers && opt.Workers > 1 {
		g, stop := startAdaptive(ctx, opt)
		defer func() {
			stop()
			sum.WorkersMean, sum.WorkersLast = g.mean(), int(g.now.Load())
		}()
		bo.gate = g
	}
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

func pseudoKey(ctx context.Context, k Keys, name string) (*pseudo.Keyed, error) {
	s, err := k.PseudonymKey(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("fetch pseudonym key %s: %w", name, err)
	}
	defer s.Wipe()
	return pseudo.New(s)
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

func randomToken() string {
	b := make([]byte, 20)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// safeErr drops the path of a file-system error: source paths carry the
// client's file and folder names, which never reach a message.
func safeErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}
