// The warm start: the first objects downloaded into memory while the
// caller still pays the run's fixed costs (issue 24 item 6).

package pipeline

import (
	"bytes"
	"cmp"
	"context"
	"io"
	"iter"
	"strings"
	"sync"
	"sync/atomic"

	"hdw/configs"
	"hdw/objstore"
)

// defaultWarm is the warm start of a zero WarmStart: 16 MiB in all,
// objects of at most 4 MiB, at most 256 objects (what a set of small
// objects holds besides their bytes is bounded too), four GETs at once.
var defaultWarm = WarmStart{Bytes: 16 << 20, Object: 4 << 20, Count: 256, GETs: 4}

// WarmStart bounds the downloads a [Prefetch] starts once the source is
// listed: the first objects the run will take, in this run's shard (the
// files of a CSV manifest's first rows, read from its first 256 KiB, in
// row order; then, or for a Parquet manifest, the listing in key order),
// each at most Object bytes, Bytes in all, each read whole into a buffer
// of its own at the listing's ETag (If-Match: a changed object is never
// mixed). Only sources that read ranges (S3) are warmed:
// a local folder is read as fast as a buffer would be filled.
type WarmStart struct {
	Bytes  int64 // in all (0: 16 MiB; negative: no warm start)
	Object int64 // the largest object warmed (0: 4 MiB)
	Count  int   // the most objects warmed (0: 256)
	GETs   int   // downloads at once (0: 4)
}

// warmSet is a warm start: the objects chosen, each downloading or held
// until a worker takes it, the run drops it (committed earlier) or the
// set is closed. Bytes held never exceed the budget: the objects are
// chosen so that their sizes add up to at most WarmStart.Bytes.
type warmSet struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu sync.Mutex
	m  map[string]*warmObj // by key: not yet taken or dropped

	held, peak  atomic.Int64 // bytes in buffers now, and the most
	fetched     atomic.Int64 // bytes downloaded
	read, readN atomic.Int64 // bytes and objects a worker read from memory
	ready       int64        // bytes downloaded when the run took the prefetch
}

type warmObj struct {
	info objstore.Info
	done chan struct{} // closed once the download ended
	buf  []byte        // nil after a fault or once released
	once sync.Once
}

// startWarm chooses the objects of a warm start and starts their
// downloads; nil when the source does not read ranges or nothing fits.
func startWarm(ctx context.Context, opt Options, pl *planned) *warmSet {
	g, ok := opt.Source.(objstore.RangeGetter)
	lim := opt.Warm
	if !ok || lim.Bytes < 0 {
		return nil
	}
	if lim.Bytes == 0 {
		lim.Bytes = defaultWarm.Bytes
	}
	lim.Object = cmp.Or(max(lim.Object, 0), defaultWarm.Object)
	lim.Count = cmp.Or(max(lim.Count, 0), defaultWarm.Count)
	lim.GETs = cmp.Or(max(lim.GETs, 0), defaultWarm.GETs)
	var chosen []*warmObj
	var total int64
	for i := range pl.warmOrder(opt) {
		info := pl.objs.info(i)
		if opt.Shards > 1 && ShardOf(info.Key, opt.Shards) != opt.Shard {
			continue
		}
		if info.Size <= 0 || info.Size > lim.Object || info.ETag == "" {
			continue // a large object is read in ranges anyway
		}
		if total+info.Size > lim.Bytes || len(chosen) == lim.Count {
			break
		}
		total += info.Size
		chosen = append(chosen, &warmObj{info: info, done: make(chan struct{})})
	}
	if len(chosen) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	ws := &warmSet{cancel: cancel, m: make(map[string]*warmObj, len(chosen))}
	for _, o := range chosen {
		ws.m[o.info.Key] = o
	}
	var next atomic.Int64
	for range min(lim.GETs, len(chosen)) {
		ws.wg.Add(1)
		go func() {
			defer ws.wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= len(chosen) {
					return
				}
				ws.download(ctx, g, chosen[i])
			}
		}()
	}
	return ws
}

// warmHead is how much of a CSV manifest the warm start reads ahead to
// know the order in which the run takes the objects.
const warmHead = 256 << 10

// warmOrder yields listing indexes in the order the run is expected to
// take them: the objects named by the rows of the manifest's head (a CSV
// manifest; the bytes read are put back in front of the stream, the run
// reads them again), then the other objects in key order, each once. A
// read error is put back too (the run fails as it would have); a head
// that does not parse (its encoding, a bad header) orders nothing (the
// run will say why).
func (pl *planned) warmOrder(opt Options) iter.Seq[int] {
	var head []string
	if !strings.HasSuffix(strings.ToLower(pl.mname), ".parquet") {
		buf := make([]byte, warmHead)
		n, err := io.ReadFull(pl.mr, buf)
		buf = buf[:n]
		switch {
		case err == nil:
			pl.mr = io.MultiReader(bytes.NewReader(buf), pl.mr) // the rest follows
			buf = buf[:bytes.LastIndexByte(buf, '\n')+1]        // whole lines only
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			pl.mr = bytes.NewReader(buf)
		default:
			pl.mr = io.MultiReader(bytes.NewReader(buf), errReader{err})
			buf = nil
		}
		if len(buf) > 0 {
			d := opt.Dict
			if d == nil {
				d = configs.DefaultDictionary()
			}
			ReadCSVWith(bytes.NewReader(buf), pl.mname, d, CSVOptions{Encoding: opt.Encoding, Delimiter: opt.Delimiter}, func(r *Row, err error) error {
				if err == nil && r != nil && r.File() != "" {
					head = append(head, r.File())
				}
				return nil
			})
		}
	}
	return func(yield func(int) bool) {
		first := map[int]bool{} // at most the rows of the head
		for _, f := range head {
			if i, ok := pl.objs.find(f); ok && !first[i] {
				first[i] = true
				if !yield(i) {
					return
				}
			}
		}
		for i := range pl.objs.len() {
			if !first[i] && !yield(i) {
				return
			}
		}
	}
}

// download reads o whole into a buffer of its own. A fault (network, a
// changed object) leaves no buffer: the worker reads the object as if it
// had not been warmed.
func (ws *warmSet) download(ctx context.Context, g objstore.RangeGetter, o *warmObj) {
	defer close(o.done)
	if ctx.Err() != nil {
		return
	}
	n := o.info.Size
	ws.hold(n)
	buf := make([]byte, n)
	body, err := g.GetRange(ctx, o.info.Key, 0, n, o.info.ETag)
	if err == nil {
		_, err = io.ReadFull(body, buf)
		body.Close()
	}
	if err != nil {
		ws.held.Add(-n)
		return
	}
	o.buf = buf
	ws.fetched.Add(n)
}

func (ws *warmSet) hold(n int64) {
	h := ws.held.Add(n)
	for p := ws.peak.Load(); h > p && !ws.peak.CompareAndSwap(p, h); p = ws.peak.Load() {
	}
}

// release drops o's buffer (once).
func (ws *warmSet) release(o *warmObj) {
	o.once.Do(func() {
		if o.buf != nil {
			ws.held.Add(-int64(len(o.buf)))
			o.buf = nil
		}
	})
}

// releaseWhenDone releases o now, or when its download ends.
func (ws *warmSet) releaseWhenDone(o *warmObj) {
	select {
	case <-o.done:
		ws.release(o)
	default:
		go func() { <-o.done; ws.release(o) }()
	}
}

// open returns obj's bytes from memory when it was warmed at the same
// version and its download succeeded (waiting for a download under way);
// false: read it from the source.
func (ws *warmSet) open(ctx context.Context, obj objstore.Info) (io.ReadCloser, bool) {
	if ws == nil {
		return nil, false
	}
	ws.mu.Lock()
	o := ws.m[obj.Key]
	if o == nil || o.info.ETag != obj.ETag || o.info.Size != obj.Size {
		ws.mu.Unlock()
		return nil, false
	}
	delete(ws.m, obj.Key)
	ws.mu.Unlock()
	select {
	case <-o.done:
	case <-ctx.Done():
		ws.releaseWhenDone(o)
		return nil, false
	}
	if o.buf == nil {
		return nil, false
	}
	ws.readN.Add(1)
	ws.read.Add(int64(len(o.buf)))
	return &warmReader{Reader: bytes.NewReader(o.buf), ws: ws, o: o}, true
}

// drop releases the objects for which skip is true (committed by an
// earlier run: the run will not read them).
func (ws *warmSet) drop(skip func(objstore.Info) bool) {
	if ws == nil {
		return
	}
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for k, o := range ws.m {
		if skip(o.info) {
			delete(ws.m, k)
			ws.releaseWhenDone(o)
		}
	}
}

// markReady notes the bytes downloaded so far: what the warm start
// overlapped with the fixed costs.
func (ws *warmSet) markReady() {
	if ws != nil {
		ws.ready = ws.fetched.Load()
	}
}

// close stops the downloads under way and releases every buffer not
// taken (objects skipped, duplicates, a run that stopped). Idempotent; a
// buffer taken is released by its reader's Close.
func (ws *warmSet) close() {
	if ws == nil {
		return
	}
	ws.cancel()
	ws.wg.Wait()
	ws.mu.Lock()
	defer ws.mu.Unlock()
	for k, o := range ws.m {
		delete(ws.m, k)
		ws.release(o)
	}
}

// report closes ws and adds its counts to sum.
func (ws *warmSet) report(sum *Summary) {
	if ws == nil || sum == nil {
		return
	}
	ws.close()
	sum.WarmObjects, sum.WarmBytes, sum.WarmReadyBytes = ws.readN.Load(), ws.read.Load(), ws.ready
}

// warmReader serves a warmed object; Close releases its buffer.
type warmReader struct {
	*bytes.Reader
	ws *warmSet
	o  *warmObj
}

func (r *warmReader) Close() error {
	r.ws.release(r.o)
	return nil
}
