package pipeline_test

import (
	"errors"
	"strings"
	"testing"

	"hdw/objstore"
	"hdw/objstore/s3store"
	"hdw/objstore/s3store/s3test"
	"hdw/pipeline"
)

// TestS3SourceFaultsSayWhat: against the real S3 server, an empty prefix,
// a missing bucket and refused credentials each stop the run with their
// own message, never "no manifest.csv".
func TestS3SourceFaultsSayWhat(t *testing.T) {
	c := s3test.Config(t)
	e := newEnv(t, map[string]string{})
	empty := s3test.Fresh(t, c, "empty")
	_, err := e.run(t, func(o *pipeline.Options) { o.Source = empty })
	if !errors.Is(err, pipeline.ErrSourceEmpty) || errors.Is(err, pipeline.ErrNoManifest) {
		t.Fatalf("empty prefix: %v", err)
	}
	nb := c
	nb.Bucket = "no-such-bucket-hdw"
	_, err = e.run(t, func(o *pipeline.Options) { o.Source = s3test.Fresh(t, nb, "x") })
	if !errors.Is(err, objstore.ErrNoBucket) {
		t.Fatalf("missing bucket: %v", err)
	}
	bad := c
	bad.SecretAccessKey, bad.AccessKeyID, bad.MaxRetries = "wrong-secret-0123456789", "AKIAWRONG", 1
	_, err = e.run(t, func(o *pipeline.Options) { o.Source = s3test.Fresh(t, bad, "x") })
	if !errors.Is(err, objstore.ErrAccessDenied) || strings.Contains(err.Error(), "manifest.csv") {
		t.Fatalf("wrong credentials: %v", err)
	}
	_ = s3store.ErrTooLarge
}
