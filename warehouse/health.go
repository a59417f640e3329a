package warehouse

import (
	"context"
	"strings"

	"hdw/keys"
)

// EachHealthTable calls fn for every health-table object of the committed
// batches, in commit order, with the batch's health data key (wiped when
// the batch is done); skip, when not nil, leaves batches out (a workspace
// refresh skips those it already holds). The one loop every reader of the
// health store (exports, indicators, workspaces) shares.
func (w *Warehouse) EachHealthTable(ctx context.Context, skip func(batch string) bool, fn func(c Commit, key string, dek keys.Secret) error) error {
	cs, err := w.Commits(ctx)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if skip != nil && skip(c.Batch) {
			continue
		}
		if err := w.eachHealthObject(ctx, c, fn); err != nil {
			return err
		}
	}
	return nil
}

func (w *Warehouse) eachHealthObject(ctx context.Context, c Commit, fn func(c Commit, key string, dek keys.Secret) error) error {
	dek, err := w.DataKey(ctx, c.Batch, keys.Health)
	if err != nil {
		return err
	}
	defer dek.Wipe()
	for _, o := range c.Objects {
		if !strings.HasPrefix(o.Key, "health/records/") {
			continue
		}
		if err := fn(c, o.Key, dek); err != nil {
			return err
		}
	}
	return nil
}
