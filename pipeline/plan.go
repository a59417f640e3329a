// The plan of an ingest: the source listed, its manifest found and
// streamed, each row paired with its image and filtered by shard and by
// what earlier runs committed.

package pipeline

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"

	"hdw/configs"
	"hdw/objstore"
	"hdw/pseudo"
	"hdw/warehouse"
)

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
	warm        *warmSet // the warm start (StartPrefetch only; nil: none)
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
