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
