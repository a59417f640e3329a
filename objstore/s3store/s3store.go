package s3store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"hdw/objstore"
)

// ErrInsecureEndpoint refuses a plain-HTTP endpoint off loopback.
var ErrInsecureEndpoint = errors.New("s3: plain http endpoint refused (SEC-RES-3): use https, or --allow-insecure-endpoint for a trusted network")

// ErrLockUnsupported means the bucket has no Object Lock.
var ErrLockUnsupported = errors.New("s3: object lock not supported by this bucket")

// Config configures a Store. Credentials come from the standard AWS chain
// (environment, shared files, profile) unless given.
type Config struct {
	Bucket, Prefix  string
	Endpoint        string
	Region          string
	PathStyle       bool
	AllowInsecure   bool          // plain http off loopback (SEC-RES-3 exception)
	MaxRetries      int           // attempts per request with the SDK's standard retryer (default 5)
	Timeout         time.Duration // per attempt: connect, TLS and wait for response headers (default 60 s)
	AccessKeyID     string        // optional; else the AWS chain
	SecretAccessKey string
	PartSize        int64 // multipart part buffer, at least 5 MiB (default 8 MiB)
}

// ConfigFromEnv reads AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, AWS_REGION /
// AWS_DEFAULT_REGION and HDW_S3_PATH_STYLE through getenv.
func ConfigFromEnv(getenv func(string) string) Config {
	c := Config{Endpoint: getenv("AWS_ENDPOINT_URL_S3"), Region: getenv("AWS_REGION")}
	if c.Endpoint == "" {
		c.Endpoint = getenv("AWS_ENDPOINT_URL")
	}
	if c.Region == "" {
		c.Region = getenv("AWS_DEFAULT_REGION")
	}
	switch strings.ToLower(getenv("HDW_S3_PATH_STYLE")) {
	case "1", "true", "yes":
		c.PathStyle = true
	}
	return c
}

// ParseURL splits s3://bucket/prefix/ into bucket and prefix (no slashes at the ends).
func ParseURL(s string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok || rest == "" {
		return "", "", fmt.Errorf("not an s3:// URL")
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("s3 URL without a bucket")
	}
	return bucket, strings.Trim(prefix, "/"), nil
}

// transportProtects reports whether nothing can alter a request body on
// its way to the endpoint: https (AWS's default endpoints included), or
// plain http to a loopback address (no network in between). Off loopback,
// plain http (Config.AllowInsecure) keeps the body's SHA-256 signed.
func transportProtects(endpoint string) bool {
	if endpoint == "" {
		return true
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return false
	}
	return u.Scheme == "https" || u.Scheme == "http" && loopback(u.Hostname())
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// CheckEndpoint enforces SEC-RES-3 on an endpoint URL.
func CheckEndpoint(endpoint string, allowInsecure bool) error {
	if endpoint == "" {
		return nil // AWS default endpoints are HTTPS
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return fmt.Errorf("s3: bad endpoint URL")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if allowInsecure {
			return nil
		}
		if loopback(u.Hostname()) {
			return nil
		}
		return ErrInsecureEndpoint
	}
	return fmt.Errorf("s3: endpoint scheme must be https")
}

// Store is an objstore.Store in an S3 bucket under a prefix.
type Store struct {
	c        *s3.Client
	bucket   string
	prefix   string
	partSize int64
	bufs     chan *[]byte // idle part buffers of partSize bytes (keptBuffers at most)
	// unsignedBody: the writer's requests sign UNSIGNED-PAYLOAD (the
	// endpoint is https or loopback: nothing alters the body on its way).
	unsignedBody bool
}

var _ objstore.Store = (*Store)(nil)

// New returns a Store.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Bucket == "" {
		return nil, errors.New("s3: no bucket")
	}
	if err := CheckEndpoint(cfg.Endpoint, cfg.AllowInsecure); err != nil {
		return nil, err
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = 5
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.PartSize < 5<<20 {
		cfg.PartSize = 8 << 20
	}
	// The region and the credentials come from the SDK's default chain
	// (environment, then the shared config and credentials files of
	// AWS_PROFILE, then container and instance roles), as for the AWS CLI;
	// Config.Region, when set, wins.
	var opts []func(*config.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	opts = append(opts,
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = cfg.MaxRetries
				o.MaxBackoff = 10 * time.Second
			})
		}),
		// A buildable client keeps AWS_CA_BUNDLE (custom CAs) working.
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			tr.MaxIdleConnsPerHost = 64
			tr.ResponseHeaderTimeout = cfg.Timeout
			tr.TLSHandshakeTimeout = cfg.Timeout
		}).WithDialerOptions(func(d *net.Dialer) {
			d.Timeout = min(cfg.Timeout, 15*time.Second)
		})),
	)
	if cfg.AccessKeyID != "" {
		opts = append(opts, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(cfg.AccessKeyID, cfg.SecretAccessKey, "")))
	}
	ac, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("s3: aws config: %w", err)
	}
	if ac.Region == "" {
		if cfg.Endpoint == "" {
			return nil, errors.New("s3: no region: set AWS_REGION, or region in the AWS profile (~/.aws/config), or s3.region in --config")
		}
		// An S3-compatible server (custom endpoint) signs with any region.
		ac.Region = "us-east-1"
	}
	c := s3.NewFromConfig(ac, func(o *s3.Options) {
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
		o.UsePathStyle = cfg.PathStyle
		// Checksums only when required: S3-compatible servers vary.
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	})
	return &Store{c: c, bucket: cfg.Bucket, prefix: strings.Trim(cfg.Prefix, "/"), partSize: cfg.PartSize, bufs: make(chan *[]byte, keptBuffers), unsignedBody: transportProtects(cfg.Endpoint)}, nil
}

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
	key, err := s.key(k)
	if err != nil {
		return nil, err
	}
	in := &s3.GetObjectInput{Bucket: &s.bucket, Key: &key, Range: aws.String(fmt.Sprintf("bytes=%d-", off))}
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
	return out.Body, nil
}

var _ objstore.RangeOpener = (*Store)(nil)

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

// Create implements objstore.Store: a streaming upload with bounded part
// buffers; the object appears on Close (single PUT when small, multipart
// otherwise); Abort discards it. Part buffers are recycled between objects
// (an ingest writes one object per image: a fresh 8 MiB buffer each was
// most of its allocations). Parts are uploaded one at a time per writer:
// an ingest's workers already upload as many objects at once, and a
// second buffer per writer (parts uploading while the next fills) doubled
// their memory, which the ingest's heap limit (200 MiB) turned into
// collector time (15% of the CPU on 63 MB images, 1.6x slower).
func (s *Store) Create(ctx context.Context, k string) (io.WriteCloser, error) {
	key, err := s.key(k)
	if err != nil {
		return nil, err
	}
	return &writer{s: s, ctx: ctx, key: key}, nil
}

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
const keptBuffers = 8

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
	parts    []types.CompletedPart
	done     bool
	err      error
}

func (w *writer) flushPart() error {
	if w.uploadID == nil {
		out, err := w.s.c.CreateMultipartUpload(w.ctx, &s3.CreateMultipartUploadInput{Bucket: &w.s.bucket, Key: &w.key})
		if err != nil {
			return wrapErr("multipart", err)
		}
		w.uploadID = out.UploadId
	}
	n := int32(len(w.parts) + 1)
	out, err := w.s.c.UploadPart(w.ctx, &s3.UploadPartInput{Bucket: &w.s.bucket, Key: &w.key, UploadId: w.uploadID,
		PartNumber: aws.Int32(n), Body: bytes.NewReader(*w.buf), ContentLength: aws.Int64(int64(len(*w.buf)))}, w.s.bodyOpts()...)
	if err != nil {
		return wrapErr("upload part", err)
	}
	w.parts = append(w.parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(n)})
	*w.buf = (*w.buf)[:0]
	return nil
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
