package warehouse

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"hdw/envelope"
	"hdw/keys"
	"hdw/objstore"
)

// SchemaVersion is the version of the layout written by this package.
const SchemaVersion = 1

// ErrNotInitialized is returned when the root holds no warehouse.json.
var ErrNotInitialized = errors.New("warehouse: not initialized (run hdw init)")

// Descriptor is warehouse.json. It holds no key bytes.
type Descriptor struct {
	ID          string    `json:"id"`
	Schema      int       `json:"schema"`
	Created     time.Time `json:"created"`
	KeyProvider string    `json:"key_provider"` // "local" or "vault"
	VaultName   string    `json:"vault_name,omitempty"`
}

// KeySource is what the warehouse needs from a key provider.
type KeySource interface {
	NewDataKeys(ctx context.Context, store string, n int) ([]keys.DataKey, error)
	Unwrap(ctx context.Context, store string, wrapped [][]byte) ([]keys.Secret, error)
}

// Warehouse is an opened warehouse.
type Warehouse struct {
	St   objstore.Store
	Desc Descriptor
	Keys KeySource

	mu   sync.Mutex
	open map[string]func() // batch -> stop deferring its data objects
}

// NewID returns a random id: a UTC timestamp prefix for ordering plus 64 random bits.
func NewID(now time.Time) string {
	b := make([]byte, 8)
	rand.Read(b)
	return now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// Create writes warehouse.json; it fails with objstore.ErrExist if present.
func Create(ctx context.Context, st objstore.Store, d Descriptor) error {
	d.Schema = SchemaVersion
	data, _ := json.MarshalIndent(d, "", "  ")
	return st.PutIfAbsent(ctx, "warehouse.json", bytes.NewReader(data))
}

// Open reads warehouse.json.
func Open(ctx context.Context, st objstore.Store, ks KeySource) (*Warehouse, error) {
	var d Descriptor
	if err := objstore.ReadJSON(ctx, st, "warehouse.json", 1<<20, &d); err != nil {
		if errors.Is(err, objstore.ErrNotExist) {
			return nil, ErrNotInitialized
		}
		return nil, err
	}
	if d.Schema != SchemaVersion {
		return nil, fmt.Errorf("warehouse schema %d not supported (want %d)", d.Schema, SchemaVersion)
	}
	return &Warehouse{St: st, Desc: d, Keys: ks}, nil
}

type encWriter struct {
	enc io.WriteCloser
	obj io.WriteCloser
}

func (e *encWriter) Write(p []byte) (int, error) { return e.enc.Write(p) }
func (e *encWriter) Close() error {
	if err := e.enc.Close(); err != nil {
		objstore.Abort(e.obj)
		return err
	}
	return e.obj.Close()
}
func (e *encWriter) Abort() error { return objstore.Abort(e.obj) }

// PutEncrypted writes body, encrypted under dek, to the object key:
// CreateEncrypted, write, Close; on an error the object is discarded,
// never published half written.
func PutEncrypted(ctx context.Context, st objstore.Store, key string, dek keys.Secret, body []byte) error {
	w, err := CreateEncrypted(ctx, st, key, dek)
	if err != nil {
		return err
	}
	if _, err := w.Write(body); err != nil {
		objstore.Abort(w)
		return err
	}
	return w.Close()
}

// CreateEncrypted returns a writer that encrypts to the object key under dek
// (the object key is bound as associated data). Close publishes it; Abort
// (objstore.Abort) discards it.
func CreateEncrypted(ctx context.Context, st objstore.Store, key string, dek keys.Secret) (io.WriteCloser, error) {
	obj, err := st.Create(ctx, key)
	if err != nil {
		return nil, err
	}
	enc, err := envelope.NewWriter(obj, dek, key)
	if err != nil {
		objstore.Abort(obj)
		return nil, err
	}
	return &encWriter{enc: enc, obj: obj}, nil
}

type decReader struct {
	io.Reader
	c io.Closer
}

func (d decReader) Close() error { return d.c.Close() }

// OpenEncrypted streams the plaintext of an encrypted object.
func OpenEncrypted(ctx context.Context, st objstore.Store, key string, dek keys.Secret) (io.ReadCloser, error) {
	r, err := st.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	d, err := envelope.NewReader(r, dek, key)
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return decReader{d, r}, nil
}

// ReadEncryptedAll reads a whole encrypted object of at most max plaintext bytes.
func ReadEncryptedAll(ctx context.Context, st objstore.Store, key string, dek keys.Secret, max int64) ([]byte, error) {
	r, err := OpenEncrypted(ctx, st, key, dek)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := objstore.ReadAtMost(r, max)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return b, nil
}

// BatchKeys is dek/<batch>.json: the wrapped data keys of a batch (or of a
// workspace), one per store, written before any data of the batch.
type BatchKeys struct {
	Batch   string            `json:"batch"`
	Wrapped map[string][]byte `json:"wrapped"` // store name -> wrapped DEK
}

// BatchKeysKey returns the object key of a batch's key record.
func BatchKeysKey(batch string) string { return "dek/" + batch + ".json" }

// NewBatchKeys creates one data key per store and writes the key record
// (durably). Unless dryRun, it also opens the batch: if the store can defer
// flushes ([objstore.Deferrer], a local folder), the batch's data objects
// (its tables and its images, see [IsBatchObject]) are written without a
// per-object fsync until [Warehouse.WriteCommit] makes them durable. It
// returns the keys in clear, or an error with nothing opened.
func (w *Warehouse) NewBatchKeys(ctx context.Context, batch string, stores []string, dryRun bool) (map[string]keys.Secret, error) {
	bk := BatchKeys{Batch: batch, Wrapped: map[string][]byte{}}
	out := map[string]keys.Secret{}
	for _, s := range stores {
		dks, err := w.Keys.NewDataKeys(ctx, s, 1)
		if err != nil {
			for _, k := range out {
				k.Wipe()
			}
			return nil, fmt.Errorf("data key for %s store: %w", s, err)
		}
		bk.Wrapped[s] = dks[0].Wrapped
		out[s] = dks[0].Key
	}
	if dryRun {
		return out, nil
	}
	data, _ := json.Marshal(bk)
	if err := w.St.PutIfAbsent(ctx, BatchKeysKey(batch), bytes.NewReader(data)); err != nil {
		for _, k := range out {
			k.Wipe()
		}
		return nil, err
	}
	w.deferBatch(batch)
	return out, nil
}

// deferBatch lets the store defer the flush of the batch's data objects
// until WriteCommit, if it can.
func (w *Warehouse) deferBatch(batch string) {
	d, ok := w.St.(objstore.Deferrer)
	if !ok {
		return
	}
	stop := d.Defer(func(key string) bool { return IsBatchObject(batch, key) })
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.open == nil {
		w.open = map[string]func(){}
	}
	if prev, ok := w.open[batch]; ok {
		prev()
	}
	w.open[batch] = stop
}

// endBatch stops deferring the batch's objects: later writes to them (rights
// rewriting a table, moving an image) are durable when they return.
func (w *Warehouse) endBatch(batch string) {
	w.mu.Lock()
	stop, ok := w.open[batch]
	delete(w.open, batch)
	w.mu.Unlock()
	if ok {
		stop()
	}
}

// IsBatchObject reports whether key is a data object of batch written by
// ingest: one of its tables ([HealthTableKey], [IdentityTableKey],
// [ProfessionalTableKey], [GeneticTableKey], or another part under the
// health records folder of the batch) or one of its images ([ImageKey] with
// a token starting with "<batch>-"). Key records, leases and commit records
// are not data objects.
func IsBatchObject(batch, key string) bool {
	if batch == "" {
		return false
	}
	switch key {
	case IdentityTableKey(batch), ProfessionalTableKey(batch), GeneticTableKey(batch):
		return true
	}
	if rest, ok := strings.CutPrefix(key, "health/records/batch="+batch+"/"); ok {
		return rest != "" && !strings.Contains(rest, "/")
	}
	if rest, ok := strings.CutPrefix(key, "health/images/"); ok {
		pseudonym, name, ok := strings.Cut(rest, "/")
		return ok && pseudonym != "" && !strings.Contains(name, "/") && strings.HasPrefix(name, batch+"-")
	}
	return false
}

// DataKey unwraps the data key of a batch for one store.
func (w *Warehouse) DataKey(ctx context.Context, batch, store string) (keys.Secret, error) {
	var bk BatchKeys
	if err := objstore.ReadJSON(ctx, w.St, BatchKeysKey(batch), 1<<20, &bk); err != nil {
		return keys.Secret{}, err
	}
	wr, ok := bk.Wrapped[store]
	if !ok {
		return keys.Secret{}, fmt.Errorf("batch %s has no %s key: %w", batch, store, keys.ErrKeyNotFound)
	}
	ks, err := w.Keys.Unwrap(ctx, store, [][]byte{wr})
	if err != nil {
		return keys.Secret{}, err
	}
	return ks[0], nil
}

// Commit is batches/<id>.json, the record that makes a batch visible.
type Commit struct {
	Batch    string    `json:"batch"`
	Created  time.Time `json:"created"`
	Profile  string    `json:"profile"`
	Operator string    `json:"operator"`
	Shard    string    `json:"shard,omitempty"`
	Client   string    `json:"client,omitempty"`
	Sources  []string  `json:"sources"` // keyed hashes of source items (object key + ETag), never names
	// Contents are the keyed hashes of the images' content per person
	// (pipeline's dedupe: HMAC(pseudonym key, pseudonym | SHA-256)), never names.
	Contents []string         `json:"contents,omitempty"`
	Counts   map[string]int64 `json:"counts"`
	Objects  []ObjectRef      `json:"objects"`
	// PseudoVersions is, per store, the version of the warehouse pseudonym
	// key its pseudonyms are at (absent: 1). Ingest records the version it
	// computed with; a pseudonym-key rotation (package rotation) raises it
	// store by store as it rewrites them, so that a rerun skips what is done.
	PseudoVersions map[string]int `json:"pseudo_versions,omitempty"`
}

// PseudoVersion returns the pseudonym-key version of a store's objects in
// the batch (1 when not recorded).
func (c Commit) PseudoVersion(store string) int { return max(1, c.PseudoVersions[store]) }

// ObjectRef names a stored object with its plaintext hash.
type ObjectRef struct {
	Key    string `json:"key"`
	Store  string `json:"store"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// PendingKey returns the object key of a running batch's lease. A batch
// whose lease expired without a commit record is an orphan (a killed run)
// and is removed by the next ingest.
func PendingKey(batch string) string { return "pending/" + batch + ".json" }

// CommitKey returns the object key of a batch's commit record.
func CommitKey(batch string) string { return "batches/" + batch + ".json" }

// WriteCommit writes the commit record (once), which makes the batch
// visible. First it makes durable every object the store holds in deferred
// mode ([objstore.Syncer]), so that a commit record never names an object a
// crash could lose; if that fails it writes nothing and returns the error
// (the batch stays uncommitted). The record itself is written durably
// (PutIfAbsent: file and folder fsynced) and fails with objstore.ErrExist if
// the batch is already committed. In every case the batch's objects are no
// longer deferred afterwards.
func (w *Warehouse) WriteCommit(ctx context.Context, c Commit) error {
	defer w.endBatch(c.Batch)
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if s, ok := w.St.(objstore.Syncer); ok {
		if err := s.Sync(ctx); err != nil {
			return fmt.Errorf("flush batch objects before the commit record: %w", err)
		}
	}
	return w.St.PutIfAbsent(ctx, CommitKey(c.Batch), bytes.NewReader(data))
}

// Commits returns the commit records of all visible batches, oldest first.
func (w *Warehouse) Commits(ctx context.Context) ([]Commit, error) {
	var out []Commit
	for info, err := range w.St.List(ctx, "batches/") {
		if err != nil {
			return nil, err
		}
		if !strings.HasSuffix(info.Key, ".json") {
			continue
		}
		var c Commit
		if err := objstore.ReadJSON(ctx, w.St, info.Key, 256<<20, &c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Paths of the per-batch tables.
func HealthTableKey(batch string) string   { return "health/records/batch=" + batch + "/part-0.parquet" }
func IdentityTableKey(batch string) string { return "identity/persons/batch=" + batch + ".parquet" }
func ProfessionalTableKey(batch string) string {
	return "identity/professionals/batch=" + batch + ".parquet"
}
func GeneticTableKey(batch string) string { return "genetic/batch=" + batch + ".parquet" }

// RotationMapPrefix holds the old-to-new pseudonym maps of the
// pseudonym-key rotations (package rotation), under the identity key.
const RotationMapPrefix = "identity/rotation/"

// RotationMapKey returns the key of a batch's map for the rotation to a
// key version (encrypted with the batch's identity data key).
func RotationMapKey(version int, batch string) string {
	return RotationMapPrefix + "v" + strconv.Itoa(version) + "/batch=" + batch + ".parquet"
}

// RotationRecord is rotation/v<N>.json: when the rotation to key version N
// started and when its maps expire (no identifier in it).
type RotationRecord struct {
	Version int       `json:"version"`
	Started time.Time `json:"started"`
	Expires time.Time `json:"expires"`
}

// RotationRecordPrefix holds the rotation records.
const RotationRecordPrefix = "rotation/"

// RotationRecordKey returns the key of the record of the rotation to version.
func RotationRecordKey(version int) string {
	return RotationRecordPrefix + "v" + strconv.Itoa(version) + ".json"
}
func ImageKey(pseudonym, token, ext string) string {
	return "health/images/" + pseudonym + "/" + token + ext
}
