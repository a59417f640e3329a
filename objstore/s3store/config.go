// The configuration of a Store: settings, endpoint checks, the client.

package s3store

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
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
	return &Store{c: c, bucket: cfg.Bucket, prefix: strings.Trim(cfg.Prefix, "/"), partSize: cfg.PartSize, bufs: make(chan *[]byte, keptBuffers), ahead: make(chan struct{}, aheadParts), unsignedBody: transportProtects(cfg.Endpoint)}, nil
}
