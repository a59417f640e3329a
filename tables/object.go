package tables

import (
	"context"
	"fmt"
	"io"
	"os"

	"hdw/envelope"
	"hdw/keys"
	"hdw/objstore"
)

// object is a stored table opened for random access without reading it
// whole: the store's file itself when it is one (a local folder), else the
// stored (encrypted) bytes spooled to an unlinked temporary file; an
// envelope is decrypted chunk by chunk where the Parquet reader reads
// ([envelope.ReaderAt]), so memory stays bounded and no plaintext of an
// encrypted table reaches the disk.
type object struct {
	src     *io.SectionReader
	modular bool // Parquet modular encryption: the reader needs the key
	close   func()
}

// sized is a stored object that can be read at any offset (*os.File).
type sized interface {
	io.ReaderAt
	Stat() (os.FileInfo, error)
}

func openObject(ctx context.Context, st objstore.Store, key string, dek keys.Secret) (*object, error) {
	r, err := st.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	var ra io.ReaderAt
	var size int64
	closer := func() { r.Close() }
	if f, ok := r.(sized); ok {
		fi, err := f.Stat()
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		ra, size = f, fi.Size()
	} else {
		tmp, err := os.CreateTemp("", "hdw-table-*")
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("%s: spool: %w", key, err)
		}
		os.Remove(tmp.Name()) // unlinked: gone with the file descriptor
		size, err = io.Copy(tmp, r)
		r.Close()
		if err != nil {
			tmp.Close()
			return nil, fmt.Errorf("%s: spool: %w", key, err)
		}
		ra, closer = tmp, func() { tmp.Close() }
	}
	head := make([]byte, len(envMagic))
	if n, _ := ra.ReadAt(head, 0); n == len(head) && string(head) == envMagic {
		d, err := envelope.NewReaderAt(ra, size, dek, key)
		if err != nil {
			closer()
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		ra, size = d, d.Size()
	}
	o := &object{src: io.NewSectionReader(ra, 0, size), close: closer}
	tail := make([]byte, 4)
	if size >= 8 {
		if _, err := ra.ReadAt(tail, size-4); err != nil {
			closer()
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		o.modular = string(tail) == "PARE"
	}
	return o, nil
}

// Stored is a stored table opened by [OpenObject] for reading at any offset
// without reading it whole.
type Stored struct {
	o   *object
	dek keys.Secret
}

// OpenObject opens the stored table at key: its Parquet bytes (what
// [ReadObject] returns: the envelope decrypted where read, a
// modular-encrypted file as stored) are read from the store's file or a
// spool of the stored bytes, never held whole in memory. Close it.
func OpenObject(ctx context.Context, st objstore.Store, key string, dek keys.Secret) (*Stored, error) {
	o, err := openObject(ctx, st, key, dek)
	if err != nil {
		return nil, err
	}
	return &Stored{o: o, dek: dek}, nil
}

// Source returns the table's Parquet bytes, from their start.
func (s *Stored) Source() *io.SectionReader { return io.NewSectionReader(s.o.src, 0, s.o.src.Size()) }

// Modular reports whether the file uses Parquet modular encryption.
func (s *Stored) Modular() bool { return s.o.modular }

// Key is the key the Parquet reader needs ([Query].Key, [SchemaOf]): the
// data key when the file uses modular encryption, else none.
func (s *Stored) Key() keys.Secret {
	if s.o.modular {
		return s.dek
	}
	return keys.Secret{}
}

// SHA256 returns the hex SHA-256 and size of the table's Parquet bytes
// (the hash [Object] records), read through once.
func (s *Stored) SHA256() (string, int64, error) {
	d := objstore.NewDigest(io.Discard)
	if _, err := io.Copy(d, s.Source()); err != nil {
		return "", 0, err
	}
	return d.Sum(), d.N, nil
}

// Close releases the table (and its spool).
func (s *Stored) Close() { s.o.close() }
