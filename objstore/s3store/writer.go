// The streaming writer of Create: one PUT for a small object, a multipart
// upload for a large one.

package s3store

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"
)

// Create implements objstore.Store: a streaming upload with bounded part
// buffers; the object appears on Close (single PUT when small, multipart
// otherwise); Abort discards it. Part buffers are recycled between objects
// (an ingest writes one object per image: a fresh 8 MiB buffer each was
// most of its allocations). A full part is uploaded in the background
// while its writer fills the next one when one of the store's aheadParts
// tokens is free, else before the writer goes on (issue 24: multipart with
// concurrency). The tokens bound the extra memory store-wide (aheadParts
// part buffers, 16 MiB by default), whatever the number of writers: a
// second buffer per writer doubled an ingest's memory, which its heap
// limit (200 MiB) turned into collector time (15% of the CPU on 63 MB
// images, 1.6x slower).
func (s *Store) Create(ctx context.Context, k string) (io.WriteCloser, error) {
	key, err := s.key(k)
	if err != nil {
		return nil, err
	}
	return &writer{s: s, ctx: ctx, key: key}, nil
}

// aheadParts bounds the parts a Store uploads in the background, all its
// writers together.
const aheadParts = 2

func (s *Store) getBuf() *[]byte {
	select {
	case b := <-s.bufs:
		return b
	default:
		b := make([]byte, 0, s.partSize)
		return &b
	}
}

// putBuf keeps an idle buffer for the next object, or drops it when
// keptBuffers are kept already. A bounded free list rather than a
// sync.Pool: a pool is emptied by every collection.
func (s *Store) putBuf(b *[]byte) {
	*b = (*b)[:0]
	select {
	case s.bufs <- b:
	default:
	}
}

// keptBuffers bounds the idle part buffers a Store keeps.
const keptBuffers = 8 + aheadParts

// unsigned makes a request send UNSIGNED-PAYLOAD instead of the SHA-256 of
// its body in its SigV4 signature: the SDK otherwise hashes every byte
// written once more, and the server hashes it again to check it (issue 24:
// on the local server, 0.35 s of hdw's CPU and more of the server's per
// 500 MB). Used only when the transport itself protects the body
// (Store.unsignedBody: https, or loopback) and for writer bodies, which
// are the envelope's AES-GCM ciphertext or records the warehouse
// authenticates itself. The x-amz-content-sha256 header stays: S3 requires
// it on every SigV4 request (without it AWS and versitygw answer 400
// InvalidRequest, "Missing required header").
func unsigned(o *s3.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		v4.RemoveComputePayloadSHA256Middleware(st)
		return v4.AddUnsignedPayloadMiddleware(st)
	})
}

func (s *Store) bodyOpts() []func(*s3.Options) {
	if s.unsignedBody {
		return []func(*s3.Options){unsigned}
	}
	return nil
}

type writer struct {
	s        *Store
	ctx      context.Context
	key      string
	buf      *[]byte
	uploadID *string
	done     bool
	err      error

	bg sync.WaitGroup // parts uploading in the background
	mu sync.Mutex
	// parts, by part number - 1 (an ETag set once its upload returns), and
	// the first error of a background upload; under mu.
	parts []types.CompletedPart
	bgErr error
}

// flushPart uploads the full buffer as the next part: in the background
// when a token is free (the writer goes on with a fresh buffer), else now.
func (w *writer) flushPart() error {
	if w.uploadID == nil {
		out, err := w.s.c.CreateMultipartUpload(w.ctx, &s3.CreateMultipartUploadInput{Bucket: &w.s.bucket, Key: &w.key})
		if err != nil {
			return wrapErr("multipart", err)
		}
		w.uploadID = out.UploadId
	}
	w.mu.Lock()
	n := int32(len(w.parts) + 1)
	w.parts = append(w.parts, types.CompletedPart{PartNumber: aws.Int32(n)})
	err := w.bgErr
	w.mu.Unlock()
	if err != nil {
		return err
	}
	select {
	case w.s.ahead <- struct{}{}:
		buf := w.buf
		w.buf = w.s.getBuf()
		w.bg.Add(1)
		go func() {
			defer w.bg.Done()
			err := w.uploadPart(n, buf)
			w.s.putBuf(buf)
			<-w.s.ahead
			if err != nil {
				w.mu.Lock()
				if w.bgErr == nil {
					w.bgErr = err
				}
				w.mu.Unlock()
			}
		}()
		return nil
	default:
	}
	if err := w.uploadPart(n, w.buf); err != nil {
		return err
	}
	*w.buf = (*w.buf)[:0]
	return nil
}

// uploadPart uploads buf as part n and records its ETag.
func (w *writer) uploadPart(n int32, buf *[]byte) error {
	out, err := w.s.c.UploadPart(w.ctx, &s3.UploadPartInput{Bucket: &w.s.bucket, Key: &w.key, UploadId: w.uploadID,
		PartNumber: aws.Int32(n), Body: bytes.NewReader(*buf), ContentLength: aws.Int64(int64(len(*buf)))}, w.s.bodyOpts()...)
	if err != nil {
		return wrapErr("upload part", err)
	}
	w.mu.Lock()
	w.parts[n-1].ETag = out.ETag
	w.mu.Unlock()
	return nil
}

// wait waits for the background parts and returns their first error.
func (w *writer) wait() error {
	w.bg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.bgErr
}

func (w *writer) Write(p []byte) (int, error) {
	if w.done {
		return 0, errors.New("s3: write after close")
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.buf == nil {
		w.buf = w.s.getBuf()
	}
	total := 0
	for len(p) > 0 {
		if int64(len(*w.buf)) == w.s.partSize {
			if w.err = w.flushPart(); w.err != nil {
				return total, w.err
			}
		}
		b := *w.buf
		n := copy(b[len(b):w.s.partSize], p)
		*w.buf = b[:len(b)+n]
		p = p[n:]
		total += n
	}
	return total, nil
}

func (w *writer) Close() error {
	if w.done {
		return w.err
	}
	w.done = true
	defer w.release()
	if w.err != nil {
		w.abort()
		return w.err
	}
	if w.uploadID == nil {
		var body []byte
		if w.buf != nil {
			body = *w.buf
		}
		_, err := w.s.c.PutObject(w.ctx, &s3.PutObjectInput{Bucket: &w.s.bucket, Key: &w.key, Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body)))}, w.s.bodyOpts()...)
		if err != nil {
			w.err = wrapErr("put", err)
		}
		return w.err
	}
	if len(*w.buf) > 0 {
		if err := w.flushPart(); err != nil {
			w.abort()
			w.err = err
			return err
		}
	}
	if err := w.wait(); err != nil {
		w.abort()
		w.err = err
		return err
	}
	_, err := w.s.c.CompleteMultipartUpload(w.ctx, &s3.CompleteMultipartUploadInput{Bucket: &w.s.bucket, Key: &w.key, UploadId: w.uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: w.parts}})
	if err != nil {
		w.abort()
		w.err = wrapErr("complete multipart", err)
	}
	return w.err
}

// release returns the writer's buffer to the store.
func (w *writer) release() {
	if w.buf != nil {
		w.s.putBuf(w.buf)
		w.buf = nil
	}
}

func (w *writer) abort() {
	w.bg.Wait() // no part lands after the upload is aborted
	if w.uploadID != nil {
		w.s.c.AbortMultipartUpload(context.WithoutCancel(w.ctx), &s3.AbortMultipartUploadInput{Bucket: &w.s.bucket, Key: &w.key, UploadId: w.uploadID})
	}
}

// Abort discards the upload.
func (w *writer) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.abort()
	w.release()
	return nil
}
