// Package s3store is the S3 implementation of objstore.Store with
// aws-sdk-go-v2: paginated ListObjectsV2, streamed GetObject, ranged
// GetObject pinned to an ETag (objstore.RangeGetter), streaming
// multipart uploads with bounded part buffers, conditional PutObject
// (If-None-Match) for write-once objects, retries with backoff and
// per-attempt timeouts. Endpoints must be HTTPS (SEC-RES-3); plain HTTP is
// refused unless the host is loopback or AllowInsecure is set.
//
// # Configuration
//
// [ConfigFromEnv] reads the standard AWS environment through a getter (only
// cmd/ calls os.Getenv); credentials come from [Config] or the AWS chain;
// AWS_CA_BUNDLE adds a custom CA. [ClientPolicy] prints the least-privilege
// IAM policy of a client upload prefix (SP-050-003).
package s3store
