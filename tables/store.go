package tables

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v17/arrow"

	"hdw/envelope"
	"hdw/keys"
	"hdw/objstore"
)

// Mode is how a stored table is encrypted.
type Mode uint8

const (
	// Envelope encrypts the whole Parquet file with hdw's envelope
	// (warehouse stores: health, identity, genetic).
	Envelope Mode = iota
	// Modular encrypts inside the Parquet file (modular encryption,
	// AES-GCM, footer key = the data key): workspace tables, readable by
	// DuckDB and pyarrow with the key.
	Modular
)

// MaxObjectBytes bounds the bytes of one stored table read for a scan.
const MaxObjectBytes = 1 << 30

// Object describes a stored table: its key, and the SHA-256 and size of
// its Parquet bytes (before the envelope; the stored bytes in [Modular]).
type Object struct {
	Key    string
	SHA256 string
	Size   int64
	Rows   int64
}

// ObjectWriter writes a table to the object store, encrypted. Close
// publishes it atomically; Abort discards it.
type ObjectWriter struct {
	*Writer
	key  string
	obj  io.WriteCloser // the store's object
	enc  io.WriteCloser // the envelope, nil in Modular
	sum  *objstore.Digest
	done bool
}

// Create starts an encrypted table at key under dek (32 bytes) in mode.
func Create(ctx context.Context, st objstore.Store, key string, dek keys.Secret, mode Mode, s *Schema) (*ObjectWriter, error) {
	if dek.Len() != 32 {
		return nil, errors.New("tables: data key must be 32 bytes")
	}
	obj, err := st.Create(ctx, key)
	if err != nil {
		return nil, err
	}
	ow := &ObjectWriter{key: key, obj: obj}
	var opt WriterOptions
	var dst io.Writer = obj
	if mode == Envelope {
		enc, err := envelope.NewWriter(obj, dek, key)
		if err != nil {
			objstore.Abort(obj)
			return nil, err
		}
		ow.enc, dst = enc, enc
	} else {
		opt.Key = dek
	}
	ow.sum = objstore.NewDigest(dst)
	if ow.Writer, err = NewWriter(ow.sum, s, opt); err != nil {
		objstore.Abort(obj)
		return nil, err
	}
	return ow, nil
}

// Abort discards the table (a no-op once published).
func (w *ObjectWriter) Abort() {
	if !w.done {
		w.done = true
		objstore.Abort(w.obj)
	}
}

// Close writes the footer and publishes the table.
func (w *ObjectWriter) Close() (Object, error) {
	if w.done {
		return Object{}, errors.New("tables: writer already closed")
	}
	if err := w.Writer.Close(); err != nil {
		w.Abort()
		return Object{}, err
	}
	if w.enc != nil {
		if err := w.enc.Close(); err != nil {
			w.Abort()
			return Object{}, err
		}
	}
	w.done = true
	if err := w.obj.Close(); err != nil {
		return Object{}, err
	}
	return Object{Key: w.key, SHA256: w.sum.Sum(), Size: w.sum.N, Rows: w.Rows()}, nil
}

const envMagic = "HDWENC1\n"

// ReadObject returns the Parquet bytes of a stored table (decrypting the
// envelope if there is one; a modular-encrypted file is returned as
// stored), at most MaxObjectBytes, whole in memory: for tests and small
// files; stream a table with [OpenObject], [ScanObject], [RecordsObject]
// or [DigestObject]. Errors wrap objstore.ErrNotExist when the object is
// absent.
func ReadObject(ctx context.Context, st objstore.Store, key string, dek keys.Secret) ([]byte, error) {
	src, closer, err := openStream(ctx, st, key, dek)
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	b, err := io.ReadAll(io.LimitReader(src, MaxObjectBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	if len(b) > MaxObjectBytes {
		return nil, fmt.Errorf("%s: table larger than %d bytes", key, MaxObjectBytes)
	}
	return b, nil
}

// DigestObject returns the hex SHA-256 and size of a stored table's
// Parquet bytes (what [ReadObject] returns and [Object] records), hashed
// as they stream from the store. Errors wrap objstore.ErrNotExist when the
// object is absent.
func DigestObject(ctx context.Context, st objstore.Store, key string, dek keys.Secret) (string, int64, error) {
	src, closer, err := openStream(ctx, st, key, dek)
	if err != nil {
		return "", 0, err
	}
	defer closer.Close()
	d := objstore.NewDigest(io.Discard)
	if _, err := io.Copy(d, src); err != nil {
		return "", 0, fmt.Errorf("%s: %w", key, err)
	}
	return d.Sum(), d.N, nil
}

// openStream opens a stored table's Parquet bytes for one sequential read:
// the envelope, if there is one, decrypted chunk by chunk.
func openStream(ctx context.Context, st objstore.Store, key string, dek keys.Secret) (io.Reader, io.Closer, error) {
	r, err := st.Open(ctx, key)
	if err != nil {
		return nil, nil, err
	}
	br := bufioPeek(r)
	head, _ := br.peek(len(envMagic))
	if string(head) != envMagic {
		return br, r, nil
	}
	d, err := envelope.NewReader(br, dek, key)
	if err != nil {
		r.Close()
		return nil, nil, fmt.Errorf("%s: %w", key, err)
	}
	return d, r, nil
}

// IsModular reports whether Parquet bytes held in memory use modular
// encryption with an encrypted footer (a stored table: [Stored.Modular]).
func IsModular(data []byte) bool {
	return len(data) >= 8 && string(data[len(data)-4:]) == "PARE"
}

// ScanObject is [Scan] over a stored table in either mode (or a plain or
// today's all-string table): q.Key is set from dek when the file uses
// modular encryption.
func ScanObject(ctx context.Context, st objstore.Store, key string, dek keys.Secret, q Query, fn func(*Row) error) (*Schema, error) {
	return withObject(ctx, st, key, dek, q, func(src Source, q Query) (*Schema, error) { return Scan(ctx, src, q, fn) })
}

// RecordsObject is [Records] over a stored table in either mode.
func RecordsObject(ctx context.Context, st objstore.Store, key string, dek keys.Secret, q Query, fn func(arrow.Record) error) (*Schema, error) {
	return withObject(ctx, st, key, dek, q, func(src Source, q Query) (*Schema, error) { return Records(ctx, src, q, fn) })
}

// withObject opens a stored table ([openObject]), sets q.Key when it uses
// modular encryption, and reads it with read.
func withObject(ctx context.Context, st objstore.Store, key string, dek keys.Secret, q Query, read func(Source, Query) (*Schema, error)) (*Schema, error) {
	o, err := openObject(ctx, st, key, dek)
	if err != nil {
		return nil, err
	}
	defer o.close()
	if o.modular {
		q.Key = dek
	}
	s, err := read(o.src, q)
	if err != nil && errors.Is(err, ErrTable) {
		return s, fmt.Errorf("%s: %w", key, err)
	}
	return s, err
}

// Edit decides the fate of one row in a [Rewrite]: return false to drop
// the row; change m (the row as strings) to rectify it.
type Edit func(m map[string]string) (keep bool, err error)

// Rewrite rewrites the stored table at key in place (erasure,
// rectification, re-encryption): every row passes through edit, the new
// table is written in full under the same schema (to layout when not nil:
// the migration to typed columns) and published atomically over the old
// one. A crash leaves the old table or the new one, never a mix
// (warehouse.TestIssue17_RewriteKill9OldOrNew). The new table uses mode and newDEK (the old
// dek when newDEK is empty).
func Rewrite(ctx context.Context, st objstore.Store, key string, dek, newDEK keys.Secret, mode Mode, layout *Schema, edit Edit) (Object, error) {
	o, err := openObject(ctx, st, key, dek)
	if err != nil {
		return Object{}, err
	}
	defer o.close()
	q := Query{}
	if o.modular {
		q.Key = dek
	}
	if newDEK.Len() == 0 {
		newDEK = dek
	}
	if layout == nil {
		if layout, err = SchemaOf(o.src, q.Key); err != nil {
			return Object{}, fmt.Errorf("%s: %w", key, err)
		}
	}
	w, err := Create(ctx, st, key, newDEK, mode, layout)
	if err != nil {
		return Object{}, err
	}
	m := map[string]string{}
	_, err = Scan(ctx, o.src, q, func(r *Row) error {
		r.Map(m)
		if edit != nil {
			keep, err := edit(m)
			if err != nil || !keep {
				return err
			}
		}
		return w.AppendMap(m)
	})
	if err != nil {
		w.Abort()
		return Object{}, fmt.Errorf("rewrite %s: %w", key, err)
	}
	return w.Close()
}
