// Write-once objects: commit records and audit segments, with conditional
// PUTs.

package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"hdw/objstore"
)

// PutIfAbsent implements objstore.Store with a conditional PutObject
// (If-None-Match: *): the object is written once, atomically.
func (s *Store) PutIfAbsent(ctx context.Context, k string, r io.Reader) error {
	return s.putOnce(ctx, k, r, nil)
}

// putOnce writes a small write-once object with a conditional PutObject
// (If-None-Match: *), with the extra fields set by more; a refusal because
// the object exists is resolved by existing. Other errors go through
// refused first (nil: the usual wrapping).
func (s *Store) putOnce(ctx context.Context, k string, r io.Reader, more func(*s3.PutObjectInput), refused ...func(error) error) error {
	key, err := s.key(k)
	if err != nil {
		return err
	}
	data, err := readSmall(r)
	if err != nil {
		return err
	}
	in := &s3.PutObjectInput{Bucket: &s.bucket, Key: &key, Body: bytes.NewReader(data),
		ContentLength: aws.Int64(int64(len(data))), IfNoneMatch: aws.String("*")}
	if more != nil {
		more(in)
	}
	if _, err = s.c.PutObject(ctx, in); err != nil {
		if preconditionFailed(err) {
			return s.existing(ctx, k, key, data)
		}
		for _, f := range refused {
			if e := f(err); e != nil {
				return e
			}
		}
		return wrapErr("put", err)
	}
	return nil
}

// existing resolves a conditional PUT refused because the object exists:
// when the SDK retried a PUT whose first attempt was applied but whose
// response was lost, the object found is the one we meant to write, and the
// write succeeded (idempotent commits). Anything else is objstore.ErrExist.
func (s *Store) existing(ctx context.Context, k, key string, data []byte) error {
	out, err := s.c.GetObject(ctx, &s3.GetObjectInput{Bucket: &s.bucket, Key: &key})
	if err != nil {
		return fmt.Errorf("%s: %w", k, objstore.ErrExist)
	}
	defer out.Body.Close()
	got, err := io.ReadAll(io.LimitReader(out.Body, int64(len(data))+1))
	if err == nil && bytes.Equal(got, data) {
		return nil
	}
	return fmt.Errorf("%s: %w", k, objstore.ErrExist)
}

// maxSmall bounds the objects PutIfAbsent and PutLocked send in one request
// (commit records and audit segments are small).
const maxSmall = 64 << 20

// ErrTooLarge is returned by PutIfAbsent and PutLocked for a body over 64 MiB.
var ErrTooLarge = errors.New("s3: write-once object larger than 64 MiB")

// readSmall reads a write-once body, refusing (never truncating) one over maxSmall.
func readSmall(r io.Reader) ([]byte, error) {
	data, err := objstore.ReadAtMost(r, maxSmall)
	if errors.Is(err, objstore.ErrTooLarge) {
		return nil, ErrTooLarge
	}
	if err != nil {
		return nil, fmt.Errorf("s3: read body: %w", err)
	}
	return data, nil
}

// PutLocked writes a write-once object under S3 Object Lock (audit segments)
// with mode GOVERNANCE or COMPLIANCE until the given time. It returns
// ErrLockUnsupported when the bucket has no Object Lock, an error wrapping
// objstore.ErrExist when the object exists, and ErrTooLarge over 64 MiB.
func (s *Store) PutLocked(ctx context.Context, k string, r io.Reader, mode string, until time.Time) error {
	return s.putOnce(ctx, k, r, func(in *s3.PutObjectInput) {
		in.ObjectLockMode, in.ObjectLockRetainUntilDate = types.ObjectLockMode(strings.ToUpper(mode)), aws.Time(until)
	}, func(err error) error {
		var ae smithy.APIError
		if errors.As(err, &ae) && strings.Contains(strings.ToLower(ae.ErrorCode()+ae.ErrorMessage()), "lock") {
			return ErrLockUnsupported
		}
		return nil
	})
}
