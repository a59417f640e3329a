package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"hdw/configs"
	"hdw/internal/runtimetune"
	"hdw/keys"
	"hdw/pipeline"
	"hdw/warehouse"
)

type ingestOpts struct {
	manifest   string
	client     string
	workers    int
	purge      bool
	dryRun     bool
	shard      string
	allowInsec bool
	batchItems int
	encoding   string
	delimiter  string
	wait       bool
	progress   string
	every      time.Duration
}

func newIngestCmd(g *globals) *cobra.Command {
	var o ingestOpts
	c := &cobra.Command{
		Use:   "ingest SOURCE",
		Short: "ingest a client upload (folder or s3://bucket/prefix/) into the warehouse",
		Long: `Ingest reads SOURCE (a local folder or s3://bucket/prefix/), its manifest
(manifest.csv or manifest.parquet at the root, or --manifest FILE), validates
every row against the data dictionary, de-identifies every image, pseudonymizes
and writes batches of at most --batch-items items (config ingest.batch_items,
default 10,000), each visible only once its commit record is written. An
interrupted run keeps the batches it committed; a rerun skips what is already
committed. Profile: ingest.

With --client NAME and SOURCE s3://bucket, the source is the client's prefix
s3://bucket/NAME/images/ (SP-050-003).

Every input is accounted for: seen = ingested + quarantined + rejected. Exit 3
when some items were quarantined or rejected.`,
		Example: `  HDW_PROFILE=ingest hdw ingest ./upload
  hdw --profile ingest ingest s3://uploads/ACME/images/ --purge-source --json
  hdw --profile ingest ingest s3://uploads --client ACME --shard "$JOB_COMPLETION_INDEX/4"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runIngest(cmd.Context(), g, o, args[0])
		},
	}
	f := c.Flags()
	f.StringVar(&o.manifest, "manifest", "", "manifest file outside the source (CSV or Parquet)")
	f.StringVar(&o.client, "client", "", "client name: SOURCE s3://bucket becomes s3://bucket/NAME/images/")
	f.IntVar(&o.workers, "workers", 0, "parallel workers (default: config ingest.workers, or 2 per CPU from a folder, 4 per CPU from S3)")
	f.IntVar(&o.batchItems, "batch-items", 0, "most items of one committed batch (default: config ingest.batch_items, or 10,000)")
	f.BoolVar(&o.purge, "purge-source", false, "delete ingested source objects after the commit (SEC-ALI-1)")
	f.BoolVar(&o.dryRun, "dry-run", false, "validate and report, write nothing")
	f.StringVar(&o.shard, "shard", "", "process shard i of n (\"i/n\", 0-based) of the source listing")
	f.StringVar(&o.encoding, "encoding", "utf-8", "manifest encoding: utf-8 (with or without BOM), latin-1 or windows-1252 (converted to UTF-8)")
	f.StringVar(&o.delimiter, "delimiter", "auto", "manifest delimiter: auto (detected from the header: comma, semicolon or tab), ',', ';' or tab")
	f.BoolVar(&o.wait, "wait", false, "if another ingest is running on the warehouse, wait for it instead of exiting")
	f.StringVar(&o.progress, "progress", "auto", "progress on stderr: auto (bar on a terminal, else plain lines; json lines with --json), bar, plain, json or none")
	f.DurationVar(&o.every, "progress-interval", 10*time.Second, "period of the plain and json progress lines")
	f.BoolVar(&o.allowInsec, "allow-insecure-endpoint", false, "allow a plain-HTTP S3 endpoint that is not on loopback (SEC-RES-3: avoid)")
	return c
}

func parseShard(s string) (int, int, error) {
	if s == "" {
		return 0, 0, nil
	}
	i, n, ok := strings.Cut(s, "/")
	a, err1 := strconv.Atoi(i)
	b, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || b < 1 || a < 0 || a >= b {
		return 0, 0, usageErr("--shard must be i/n with 0 <= i < n, got %q", s)
	}
	return a, b, nil
}

func runIngest(ctx context.Context, g *globals, o ingestOpts, source string) error {
	if err := g.requireProfile(keys.ProfileIngest); err != nil {
		return err
	}
	shard, shards, err := parseShard(o.shard)
	if err != nil {
		return err
	}
	if o.batchItems < 0 {
		return usageErr("--batch-items must be positive")
	}
	enc, err := pipeline.NormalizeEncoding(o.encoding)
	if err != nil {
		return usageErr("--encoding: %v", err)
	}
	delim, err := pipeline.ParseDelimiter(o.delimiter)
	if err != nil {
		return usageErr("%v", err)
	}
	prog, err := newProgress(g.stderr, o.progress, g.json, o.every)
	if err != nil {
		return err
	}
	runtimetune.Ingest(g.getenv)
	if o.allowInsec {
		g.cfg.S3.AllowInsecureEndpoint = true
	}
	if o.client != "" {
		if !validClient(o.client) {
			return usageErr("--client must be letters, digits, '-', '_' or '.'")
		}
		if strings.HasPrefix(source, "s3://") {
			source = strings.TrimSuffix(source, "/") + "/" + o.client + "/images/"
		}
	}
	workers := o.workers
	if workers == 0 {
		workers = g.cfg.Ingest.Workers
	}
	if workers <= 0 {
		workers = configs.AutoWorkers(strings.HasPrefix(source, "s3://"))
	}
	src, err := g.openSourceStore(ctx, source)
	if err != nil {
		return err
	}
	var mf *os.File
	if o.manifest != "" {
		if mf, err = os.Open(o.manifest); err != nil {
			return fmt.Errorf("open manifest: %w", err)
		}
		defer mf.Close()
	}
	// The listing and the manifest overlap with the session's keyring
	// unlock or Vault login (issue 24 item 6; ingestprefetch.go).
	pre := prefetchSource(ctx, pipeline.Options{Source: src, Shard: shard, Shards: shards, Dict: g.dict, Encoding: enc, Delimiter: delim}, mf, o.manifest)
	defer pre.Close()
	sess, err := g.open(ctx, "ingest")
	if err != nil {
		return err
	}
	defer sess.close(ctx)

	opt := pipeline.Options{
		Source: src, SourceID: src.String(), Client: o.client, Workers: workers, DryRun: o.dryRun,
		PurgeSource: o.purge, Shard: shard, Shards: shards, Dict: g.dict, Mask: maskOptions(g.cfg),
		ScrubText: scrubText, Profile: g.profile, Operator: sess.operator, Logger: g.logger,
		Progress: prog, BatchItems: g.cfg.Ingest.BatchItems,
		Encoding: enc, Delimiter: delim, Wait: o.wait,
		AdaptWorkers: adaptiveWorkers(o.workers, g.cfg.Ingest.Workers),
	}
	if o.batchItems > 0 {
		opt.BatchItems = o.batchItems
	}
	if mf != nil {
		opt.Manifest, opt.ManifestName = mf, "manifest"+extOf(o.manifest)
	}
	opt.Prefetched = pre
	sum, err := pipeline.Ingest(ctx, sess.wh, sess.prov, newDeidentifier(g.cfg), opt)
	target := map[string]string{"client": o.client}
	if sum != nil && sum.Batch != "" {
		target["batch"] = sum.Batch
		if len(sum.Batches) > 1 {
			target["batches"] = strings.Join(sum.Batches, ",")
		}
	}
	if o.shard != "" {
		target["shard"] = o.shard
	}
	counts := map[string]int64{}
	if sum != nil {
		counts = map[string]int64{"seen": sum.Seen, "ingested": sum.Ingested, "quarantined": sum.Quarantined,
			"rejected": sum.Rejected, "opposed": sum.Opposed, "skipped": sum.Skipped, "images": sum.Images, "purged": sum.Purged,
			"duplicates": sum.Duplicates, "not_committed": sum.NotCommitted}
	}
	outcome := "ok"
	switch {
	case err != nil:
		outcome = "failed"
	case o.dryRun:
		outcome = "dry-run"
	case sum.Quarantined+sum.Rejected > 0:
		outcome = "partial"
	}
	if aerr := sess.event(ctx, "ingest", "batch.ingest", outcome, target, counts, ""); aerr != nil && err == nil {
		err = aerr
	}
	if sum != nil {
		printSummary(g, sum)
	}
	if err != nil {
		return err
	}
	if sum.Quarantined+sum.Rejected > 0 {
		return &exitError{code: exitQuarantined}
	}
	return nil
}

func extOf(p string) string {
	if strings.HasSuffix(strings.ToLower(p), ".parquet") {
		return ".parquet"
	}
	return ".csv"
}

func validClient(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

func printSummary(g *globals, s *pipeline.Summary) {
	if g.json {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		enc.Encode(s)
		return
	}
	w := g.stdout
	mode := ""
	if s.DryRun {
		mode = " (dry run: nothing written)"
	}
	fmt.Fprintf(w, "ingest summary%s\n", mode)
	switch {
	case len(s.Batches) > 1:
		fmt.Fprintf(w, "  batches      %d committed: %s ... %s\n", len(s.Batches), s.Batches[0], s.Batches[len(s.Batches)-1])
	case s.Batch != "":
		fmt.Fprintf(w, "  batch        %s (committed: %v)\n", s.Batch, s.Committed)
	}
	fmt.Fprintf(w, "  seen         %d = ingested %d + quarantined %d + rejected %d\n", s.Seen, s.Ingested, s.Quarantined, s.Rejected)
	if s.Opposed > 0 {
		fmt.Fprintf(w, "  opposed      %d (rejected: the person opposed, CNIL 9.7)\n", s.Opposed)
	}
	if s.Duplicates > 0 {
		fmt.Fprintf(w, "  duplicates   %d (rejected: same image content already stored for the same person)\n", s.Duplicates)
	}
	if s.NotCommitted > 0 {
		fmt.Fprintf(w, "  interrupted  %d items of an uncommitted batch, not counted above: rerun to ingest them\n", s.NotCommitted)
	}
	if s.Skipped > 0 {
		fmt.Fprintf(w, "  skipped      %d already committed by an earlier run\n", s.Skipped)
	}
	fmt.Fprintf(w, "  images       %d (%s in, %s stored)\n", s.Images, human(s.BytesIn), human(s.BytesOut))
	fmt.Fprintf(w, "  records      %d (genetic %d)\n", s.Records, s.Genetic)
	if s.Purged > 0 {
		fmt.Fprintf(w, "  purged       %d source objects (SEC-ALI-1)\n", s.Purged)
	}
	if s.Orphans > 0 {
		fmt.Fprintf(w, "  cleaned      %d interrupted batches\n", s.Orphans)
	}
	fmt.Fprintf(w, "  time         %.1fs\n", s.Seconds)
	for _, it := range s.Items {
		fmt.Fprintf(w, "  %-11s  %s: %s\n", it.Outcome, it.Ref, it.Reason)
	}
}

var _ = warehouse.SchemaVersion
