package s3store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"hdw/objstore"
)

// Store is an objstore.Store in an S3 bucket under a prefix.
type Store struct {
	c        *s3.Client
	bucket   string
	prefix   string
	partSize int64
	bufs     chan *[]byte  // idle part buffers of partSize bytes (keptBuffers at most)
	ahead    chan struct{} // tokens of the parts uploading in the background (aheadParts)
	// unsignedBody: the writer's requests sign UNSIGNED-PAYLOAD (the
	// endpoint is https or loopback: nothing alters the body on its way).
	unsignedBody bool
}

var _ objstore.Store = (*Store)(nil)

// Region returns the region the client signs for (Config.Region, else the
// SDK chain's: environment, then the profile's config file).
func (s *Store) Region() string { return s.c.Options().Region }

func (s *Store) String() string {
	if s.prefix == "" {
		return "s3://" + s.bucket + "/"
	}
	return "s3://" + s.bucket + "/" + s.prefix + "/"
}

func (s *Store) key(k string) (string, error) {
	c, err := objstore.CleanKey(k)
	if err != nil {
		return "", err
	}
	if s.prefix == "" {
		return c, nil
	}
	return s.prefix + "/" + c, nil
}

func notFound(err error) bool {
	var nsk *types.NoSuchKey
	var nf *types.NotFound
	if errors.As(err, &nsk) || errors.As(err, &nf) {
		return true
	}
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "NotFound" || ae.ErrorCode() == "NoSuchKey")
}

func preconditionFailed(err error) bool {
	var ae smithy.APIError
	return errors.As(err, &ae) && (ae.ErrorCode() == "PreconditionFailed" || ae.ErrorCode() == "ConditionalRequestConflict")
}

// Open implements objstore.Store (streamed).
func (s *Store) Open(ctx context.Context, k string) (io.ReadCloser, error) {
	key, err := s.key(k)
	if err != nil {
		return nil, err
	}
	out, err := s.c.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		if notFound(err) {
			return nil, fmt.Errorf("%s: %w", k, objstore.ErrNotExist)
		}
		return nil, wrapErr("get", err)
	}
	return out.Body, nil
}

// OpenRange implements objstore.RangeOpener: GetObject from off with
// If-Match etag (412 Precondition Failed: objstore.ErrChanged).
func (s *Store) OpenRange(ctx context.Context, k string, off int64, etag string) (io.ReadCloser, error) {
	out, err := s.getRange(ctx, k, fmt.Sprintf("bytes=%d-", off), etag)
	if err != nil {
		return nil, err
	}
	return out.Body, nil
}

// GetRange implements objstore.RangeGetter: GetObject of the n bytes at off
// with If-Match etag (412 Precondition Failed: objstore.ErrChanged). A
// server that answers a range after the first with another one, or with
// the whole object, is refused (its bytes would be the wrong ones).
func (s *Store) GetRange(ctx context.Context, k string, off, n int64, etag string) (io.ReadCloser, error) {
	if off < 0 || n <= 0 {
		return nil, fmt.Errorf("s3: invalid range of %d bytes at %d", n, off)
	}
	out, err := s.getRange(ctx, k, fmt.Sprintf("bytes=%d-%d", off, off+n-1), etag)
	if err != nil {
		return nil, err
	}
	if want := fmt.Sprintf("bytes %d-%d/", off, off+n-1); off > 0 && !strings.HasPrefix(aws.ToString(out.ContentRange), want) {
		out.Body.Close()
		return nil, fmt.Errorf("s3: get range: the server answered bytes %d-%d with Content-Range %q; ranged reads need a server that honours Range", off, off+n-1, aws.ToString(out.ContentRange))
	}
	return out.Body, nil
}

func (s *Store) getRange(ctx context.Context, k, rng, etag string) (*s3.GetObjectOutput, error) {
	key, err := s.key(k)
	if err != nil {
		return nil, err
	}
	in := &s3.GetObjectInput{Bucket: &s.bucket, Key: &key, Range: aws.String(rng)}
	if etag != "" {
		in.IfMatch = aws.String(`"` + etag + `"`)
	}
	out, err := s.c.GetObject(ctx, in)
	if err != nil {
		var re *awshttp.ResponseError
		switch {
		case notFound(err):
			return nil, fmt.Errorf("%s: %w", k, objstore.ErrNotExist)
		case errors.As(err, &re) && re.HTTPStatusCode() == http.StatusPreconditionFailed:
			return nil, fmt.Errorf("%s: %w", k, objstore.ErrChanged)
		}
		return nil, wrapErr("get range", err)
	}
	return out, nil
}

var (
	_ objstore.RangeOpener = (*Store)(nil)
	_ objstore.RangeGetter = (*Store)(nil)
)

// Stat implements objstore.Store.
func (s *Store) Stat(ctx context.Context, k string) (objstore.Info, error) {
	key, err := s.key(k)
	if err != nil {
		return objstore.Info{}, err
	}
	out, err := s.c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		if notFound(err) {
			return objstore.Info{}, fmt.Errorf("%s: %w", k, objstore.ErrNotExist)
		}
		return objstore.Info{}, wrapErr("head", err)
	}
	return objstore.Info{Key: k, Size: aws.ToInt64(out.ContentLength), ETag: strings.Trim(aws.ToString(out.ETag), `"`), ModTime: aws.ToTime(out.LastModified)}, nil
}

// List implements objstore.Store with paginated ListObjectsV2.
func (s *Store) List(ctx context.Context, prefix string) iter.Seq2[objstore.Info, error] {
	return func(yield func(objstore.Info, error) bool) {
		full := prefix
		if s.prefix != "" {
			full = s.prefix + "/" + prefix
		}
		p := s3.NewListObjectsV2Paginator(s.c, &s3.ListObjectsV2Input{Bucket: &s.bucket, Prefix: &full})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				yield(objstore.Info{}, wrapErr("list", err))
				return
			}
			for _, o := range page.Contents {
				k := aws.ToString(o.Key)
				if s.prefix != "" {
					k = strings.TrimPrefix(k, s.prefix+"/")
				}
				if strings.HasSuffix(k, "/") {
					continue // folder markers
				}
				if !yield(objstore.Info{Key: k, Size: aws.ToInt64(o.Size), ETag: strings.Trim(aws.ToString(o.ETag), `"`), ModTime: aws.ToTime(o.LastModified)}, nil) {
					return
				}
			}
		}
	}
}

// Delete implements objstore.Store.
func (s *Store) Delete(ctx context.Context, k string) error {
	key, err := s.key(k)
	if err != nil {
		return err
	}
	_, err = s.c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil && !notFound(err) {
		return wrapErr("delete", err)
	}
	return nil
}
