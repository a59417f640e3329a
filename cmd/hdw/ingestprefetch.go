package main

import (
	"context"
	"os"

	"hdw/pipeline"
)

// prefetchSource starts listing an ingest's source and opening its
// manifest (mf, the --manifest file, when given) before the session opens,
// so that they overlap with the keyring unlock (argon2id, 0.2-0.4 s of
// CPU) or the Vault login (issue 24 item 6). The same source and manifest
// options go to pipeline.Ingest, which takes the prefetch after its own
// key and lease checks. Once listed, the first objects the run will take
// in this shard (o: its source, shard, dictionary and CSV options) download
// into memory (the warm start, at most 16 MiB: fetching bytes needs no
// key), where the run's workers read them.
func prefetchSource(ctx context.Context, o pipeline.Options, mf *os.File, manifest string) *pipeline.Prefetch {
	if mf != nil {
		o.Manifest, o.ManifestName = mf, "manifest"+extOf(manifest)
	}
	return pipeline.StartPrefetch(ctx, o)
}
