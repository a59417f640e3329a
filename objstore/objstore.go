// Package objstore owns the storage of the warehouse and of ingest sources:
// a minimal object-store interface ([Store]) with two implementations, a
// local folder ([Local]) and S3 (package objstore/s3store, aws-sdk-go-v2),
// and the ranged parallel reading of large objects ([Ranges]).
// Keys are slash-separated paths relative to the root; they never start with
// a slash and never contain "..".
package objstore

import (
	"context"
	"errors"
	"io"
	"iter"
	"time"
)

// ErrNotExist is returned (wrapped) when an object does not exist.
var ErrNotExist = errors.New("objstore: object does not exist")

// ErrExist is returned (wrapped) by PutIfAbsent when the object already exists.
var ErrExist = errors.New("objstore: object already exists")

// ErrBadKey is returned (wrapped) for a key that is empty, absolute or escapes the root.
var ErrBadKey = errors.New("objstore: invalid object key")

// Info describes an object.
type Info struct {
	Key     string
	Size    int64
	ETag    string // content tag from the server, or size+mtime for local files
	ModTime time.Time
}

// Store is an object store rooted at a folder or a bucket prefix.
type Store interface {
	// Create returns a writer for key; the object appears atomically when
	// Close returns nil. Abort (if the writer implements Aborter) discards it.
	Create(ctx context.Context, key string) (io.WriteCloser, error)
	// PutIfAbsent writes the object only if it does not exist yet, atomically;
	// it returns ErrExist otherwise (commit records, audit segments).
	PutIfAbsent(ctx context.Context, key string, r io.Reader) error
	// Open streams an object. Errors wrap ErrNotExist when absent.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	// Stat returns an object's Info or an error wrapping ErrNotExist.
	Stat(ctx context.Context, key string) (Info, error)
	// List yields the objects under prefix (a folder prefix ending in "/",
	// or "" for all), in lexical order, paginated underneath.
	List(ctx context.Context, prefix string) iter.Seq2[Info, error]
	// Delete removes an object; deleting a missing object is not an error.
	Delete(ctx context.Context, key string) error
	// String describes the store for messages (no credentials).
	String() string
}

// RangeOpener is implemented by stores that can reopen an object from an
// offset, provided it is unchanged: a long read cut by the network (the
// manifest, streamed for a whole ingest) resumes where it stopped. An
// object whose ETag is no longer etag gives an error wrapping ErrChanged.
type RangeOpener interface {
	OpenRange(ctx context.Context, key string, off int64, etag string) (io.ReadCloser, error)
}

// ErrChanged means an object changed between two reads.
var ErrChanged = errors.New("object changed since it was first read")

// Aborter is implemented by writers that can be discarded without publishing.
type Aborter interface{ Abort() error }

// Abort discards w if it supports it, else closes it.
func Abort(w io.WriteCloser) error {
	if a, ok := w.(Aborter); ok {
		return a.Abort()
	}
	return w.Close()
}

// Syncer is implemented by stores that can hold writes not yet durable
// (objstore.Local in deferred mode). Stores whose writes are durable when
// they return (S3: a PUT is durable once acknowledged) do not implement it.
type Syncer interface {
	// Sync makes durable every object written in deferred mode before the
	// call. It returns nil only if all of them are durable; callers must then
	// not publish anything that depends on them.
	Sync(ctx context.Context) error
}

// Deferrer is implemented by stores that can skip the per-object flush for
// chosen keys and flush them together later ([Local.Defer]).
type Deferrer interface {
	Syncer
	// Defer writes the keys for which match reports true in deferred mode
	// until stop is called; Sync makes them durable.
	Defer(match func(key string) bool) (stop func())
}

// Store failures that are not about one object, each with what to do.
// Stores wrap them so that callers (and messages) tell an operator's
// configuration problem from a damaged client file.
var (
	// ErrAccessDenied: the credentials are refused or lack a permission.
	ErrAccessDenied = errors.New("access denied: check the credentials (AWS_ACCESS_KEY_ID/AWS_PROFILE) and the bucket policy")
	// ErrNoBucket: the bucket does not exist.
	ErrNoBucket = errors.New("no such bucket: check the bucket name in the s3:// URL")
	// ErrUnreachable: the endpoint could not be reached (network, DNS, TLS, timeouts after retries).
	ErrUnreachable = errors.New("endpoint unreachable: check AWS_ENDPOINT_URL, the network and the server; nothing was committed, rerun")
	// ErrWrongRegion: the bucket is in another region than the client's.
	ErrWrongRegion = errors.New("wrong region: the bucket is in another region; set AWS_REGION or the profile's region")
	// ErrNotRegular: a source entry that is not a regular file inside the
	// source root (symlink leaving it, FIFO, device, socket, folder).
	ErrNotRegular = errors.New("not a regular file inside the upload folder (symlink, FIFO, device or socket refused)")
)

// IsStoreFault reports whether err is a store-wide fault (credentials,
// bucket, network, region) rather than a problem of one object.
func IsStoreFault(err error) bool {
	return errors.Is(err, ErrAccessDenied) || errors.Is(err, ErrNoBucket) || errors.Is(err, ErrUnreachable) || errors.Is(err, ErrWrongRegion)
}
