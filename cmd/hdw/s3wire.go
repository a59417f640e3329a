package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"hdw/configs"
	"hdw/objstore"
	"hdw/objstore/s3store"
)

// openS3 opens s3://bucket/prefix with the standard AWS environment and
// the s3 section of --config (SEC-RES-3 checked by s3store).
func (g *globals) openS3(ctx context.Context, loc string) (objstore.Store, error) {
	bucket, prefix, err := s3store.ParseURL(loc)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	cfg := s3WireConfig(g.getenv, g.cfg.S3)
	cfg.Bucket, cfg.Prefix = bucket, prefix
	c := g.cfg.S3
	cfg.AllowInsecure = c.AllowInsecureEndpoint
	return s3store.New(ctx, cfg)
}

// s3WireConfig resolves the S3 settings with the AWS CLI's precedence:
// the environment (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS_REGION,
// AWS_DEFAULT_REGION, HDW_S3_PATH_STYLE) before the s3 section of
// --config, before the AWS profile's config file (AWS_PROFILE, region),
// before the SDK's defaults. Credentials come from the SDK's default chain
// only (environment, shared credentials file, web identity, container and
// instance roles): never from hdw's config. See README "S3 settings".
func s3WireConfig(getenv func(string) string, c configs.S3) s3store.Config {
	cfg := s3store.ConfigFromEnv(getenv)
	if cfg.Endpoint == "" {
		cfg.Endpoint = c.Endpoint
	}
	if cfg.Region == "" {
		cfg.Region = c.Region // empty: the profile's region (SDK chain)
	}
	if getenv("HDW_S3_PATH_STYLE") == "" {
		cfg.PathStyle = c.PathStyle
	}
	return cfg
}

func newClientCmd(g *globals) *cobra.Command {
	c := &cobra.Command{
		Use:   "client",
		Short: "client onboarding (SP-050-003)",
	}
	var bucket string
	pol := &cobra.Command{
		Use:   "policy CLIENT",
		Short: "print the least-privilege IAM policy of a client's upload prefix",
		Long: `Policy prints the IAM policy for the client's IAM user: list limited to
CLIENT/*, get and put on s3://BUCKET/CLIENT/* only, plain HTTP denied. The
client uploads its images to s3://BUCKET/CLIENT/images/ with a manifest.csv.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if bucket == "" {
				return usageErr("--bucket is required")
			}
			p, err := s3store.ClientPolicy(bucket, args[0])
			if err != nil {
				return usageErr("%v", err)
			}
			_, err = fmt.Fprintln(g.stdout, string(p))
			return err
		},
	}
	pol.Flags().StringVar(&bucket, "bucket", "", "the upload bucket")
	c.AddCommand(pol)
	return c
}
