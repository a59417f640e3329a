package rights

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"hdw/keys"
	"hdw/objstore"
	"hdw/policy"
	"hdw/warehouse"
)

// RetentionOptions configure [ApplyRetention].
type RetentionOptions struct {
	// Years is the maximum age of health and genetic data from collection
	// (retention.health_years, at most 20: CNIL 7.2).
	Years int
	// Now is the clock (default time.Now).
	Now func() time.Time
	// DryRun lists what would go and deletes nothing.
	DryRun bool
	// Operator is written in the proof.
	Operator string
	// StartEvent is the event the period runs from (the sealed policy's
	// retention.start_event, CNIL 7.2): [policy.StartEndOfCare] (the last
	// visit date of every person in the batch, over all batches; needs the
	// health key), [policy.StartEndOfProject] (the end of the last workspace
	// built from the batch), or [policy.StartIngest] / "" (the batch's
	// collection).
	StartEvent string
}

// batchStarts returns when each batch's retention period starts.
func batchStarts(ctx context.Context, wh *warehouse.Warehouse, commits []warehouse.Commit, event string) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	for _, c := range commits {
		out[c.Batch] = c.Created
	}
	switch event {
	case "", policy.StartIngest:
		return out, nil
	case policy.StartEndOfProject:
		ds, err := workspaceDescriptors(ctx, wh.St)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			for _, b := range d.Batches {
				if t, ok := out[b]; ok && d.Expires.After(t) {
					out[b] = d.Expires
				}
			}
		}
		return out, nil
	case policy.StartEndOfCare:
		d := newDeks(wh)
		defer d.wipe()
		last := map[string]time.Time{}   // person -> last care
		members := map[string][]string{} // batch -> persons
		for _, c := range commits {
			if _, err := scanTable(ctx, wh, d, c.Batch, keys.Health, warehouse.HealthTableKey(c.Batch), func(r map[string]string) error {
				p := r["pseudonym"]
				care := c.Created
				if v, err := time.Parse("2006-01-02", r["visit_date"]); err == nil {
					care = v
				}
				if care.After(last[p]) {
					last[p] = care
				}
				members[c.Batch] = append(members[c.Batch], p)
				return nil
			}); err != nil {
				return nil, fmt.Errorf("retention from the end of care reads visit dates (dpo profile): %w", err)
			}
		}
		for b, ps := range members {
			var start time.Time
			for _, p := range ps {
				if last[p].After(start) {
					start = last[p]
				}
			}
			out[b] = start
		}
		return out, nil
	}
	return nil, fmt.Errorf("retention: unknown start event %q", event)
}

// RetentionBatch is one expired batch.
type RetentionBatch struct {
	Batch     string    `json:"batch"`
	Collected time.Time `json:"collected"`
	Start     time.Time `json:"period_start"` // the start event's date
	Records   int64     `json:"records"`
	Images    int64     `json:"images"`
	Genetic   int64     `json:"genetic"`
	Objects   int       `json:"objects"`
}

// RetentionReport is the result of [ApplyRetention].
type RetentionReport struct {
	Cutoff     time.Time        `json:"cutoff"`
	StartEvent string           `json:"start_event"`
	DryRun     bool             `json:"dry_run"`
	Batches    []RetentionBatch `json:"batches"`
	Kept       int              `json:"batches_kept"`
	Proof      *Proof           `json:"proof,omitempty"`
	// RotationMaps are the pseudonym-key rotations whose old-to-new maps
	// expired and were removed (see [ExpireRotationMaps]).
	RotationMaps []int `json:"rotation_maps,omitempty"`
	// Workspaces are the active workspaces built from an expired batch:
	// their copies are not traced to batches, so the curator must rebuild
	// or revoke them (hdw workspace revoke).
	Workspaces []string `json:"workspaces_to_rebuild,omitempty"`
}

// ApplyRetention deletes the batches collected before now minus Years
// (CNIL 7.2, 7.3): their health records and images, their genetic rows,
// and the identity rows of those records (the identity data whose health
// data is gone), then the batch's wrapped data keys, so that any copy of
// the ciphertext left in a backup can no longer be decrypted. The commit
// record goes first (the batch becomes invisible at once); an interrupted
// run leaves an expired lease, so the next ingest removes the rest.
// Batches collected later are untouched. It needs no data key.
func ApplyRetention(ctx context.Context, wh *warehouse.Warehouse, opt RetentionOptions) (*RetentionReport, error) {
	if opt.Years < 1 || opt.Years > 20 {
		return nil, errors.New("retention: years must be between 1 and 20 (CNIL 7.2)")
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	now := opt.Now().UTC()
	rep := &RetentionReport{Cutoff: now.AddDate(-opt.Years, 0, 0), DryRun: opt.DryRun, StartEvent: opt.StartEvent}
	if rep.StartEvent == "" {
		rep.StartEvent = policy.StartIngest
	}
	commits, err := wh.Commits(ctx)
	if err != nil {
		return nil, err
	}
	starts, err := batchStarts(ctx, wh, commits, opt.StartEvent)
	if err != nil {
		return nil, err
	}
	var expired []warehouse.Commit
	for _, c := range commits {
		if starts[c.Batch].Before(rep.Cutoff) {
			expired = append(expired, c)
		} else {
			rep.Kept++
		}
	}
	if rep.RotationMaps, err = ExpireRotationMaps(ctx, wh.St, now, opt.DryRun); err != nil {
		return rep, err
	}
	if len(expired) == 0 {
		return rep, nil
	}
	maps, err := rotationMaps(ctx, wh.St)
	if err != nil {
		return nil, err
	}
	if rep.Workspaces, err = workspacesOf(ctx, wh.St, expired); err != nil {
		return nil, err
	}
	imgs := map[string][]string{}
	for info, err := range wh.St.List(ctx, "health/images/") {
		if err != nil {
			if errors.Is(err, objstore.ErrNotExist) {
				break
			}
			return nil, err
		}
		b := imageBatch(info.Key)
		imgs[b] = append(imgs[b], info.Key)
	}
	pr := &Proof{ID: warehouse.NewID(now), Time: now, Request: "retention", Operator: opt.Operator, Kind: "retention", Counts: map[string]int{}}
	for _, c := range expired {
		objs := []struct{ store, key string }{
			{keys.Health, warehouse.HealthTableKey(c.Batch)},
			{keys.Identity, warehouse.IdentityTableKey(c.Batch)},
			{keys.Identity, warehouse.ProfessionalTableKey(c.Batch)},
			{keys.Genetic, warehouse.GeneticTableKey(c.Batch)},
		}
		for _, k := range imgs[c.Batch] {
			objs = append(objs, struct{ store, key string }{keys.Health, k})
		}
		for _, k := range maps[c.Batch] {
			objs = append(objs, struct{ store, key string }{keys.Identity, k})
		}
		objs = append(objs, struct{ store, key string }{"keys", warehouse.BatchKeysKey(c.Batch)})
		rb := RetentionBatch{Batch: c.Batch, Collected: c.Created, Start: starts[c.Batch], Records: c.Counts["records"], Images: int64(len(imgs[c.Batch])), Genetic: c.Counts["genetic"]}
		for _, o := range objs {
			if _, err := wh.St.Stat(ctx, o.key); err == nil {
				rb.Objects++
			}
		}
		rep.Batches = append(rep.Batches, rb)
		if opt.DryRun {
			continue
		}
		if err := objstore.WriteJSON(ctx, wh.St, warehouse.PendingKey(c.Batch), map[string]any{"batch": c.Batch, "expires": now.Add(-time.Second)}); err != nil {
			return rep, fmt.Errorf("mark batch %s for removal: %w", c.Batch, err)
		}
		if err := wh.St.Delete(ctx, warehouse.CommitKey(c.Batch)); err != nil {
			return rep, fmt.Errorf("remove the commit record of batch %s: %w", c.Batch, err)
		}
		for _, o := range objs {
			sum, size, err := objectHash(ctx, wh.St, o.key)
			if err != nil {
				return rep, err
			}
			if sum == "" {
				continue
			}
			if err := wh.St.Delete(ctx, o.key); err != nil {
				return rep, fmt.Errorf("delete an object of batch %s: %w", c.Batch, err)
			}
			key := o.key
			if strings.HasPrefix(key, "health/images/") {
				key = "health/images/*/" + key[strings.LastIndex(key, "/")+1:]
			}
			pr.Objects = append(pr.Objects, ObjectProof{Key: key, Store: o.store, Action: "deleted", SHA256Before: sum, SizeBefore: size})
		}
		wh.St.Delete(ctx, warehouse.PendingKey(c.Batch))
		pr.Counts["batches"]++
		pr.Counts["records"] += int(c.Counts["records"])
		pr.Counts["genetic"] += int(c.Counts["genetic"])
		pr.Counts["images"] += len(imgs[c.Batch])
	}
	if opt.DryRun {
		return rep, nil
	}
	pr.Verified = true
	for _, c := range expired {
		if _, err := wh.St.Stat(ctx, warehouse.CommitKey(c.Batch)); err == nil {
			pr.Verified = false
		}
	}
	rep.Proof = pr
	if err := objstore.WriteJSON(ctx, wh.St, ProofPrefix+pr.ID+".json", pr); err != nil {
		return rep, fmt.Errorf("write the retention proof: %w", err)
	}
	return rep, nil
}

// workspacesOf lists the active workspaces whose descriptor
// (workspaces/<project>/workspace.json) includes one of the batches.
func workspacesOf(ctx context.Context, st objstore.Store, batches []warehouse.Commit) ([]string, error) {
	gone := map[string]bool{}
	for _, c := range batches {
		gone[c.Batch] = true
	}
	ds, err := workspaceDescriptors(ctx, st)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range ds {
		if d.Status == "revoked" {
			continue
		}
		for _, b := range d.Batches {
			if gone[b] {
				out = append(out, d.Project)
				break
			}
		}
	}
	return out, nil
}

// wsDescriptor is what retention reads of a workspace's descriptor
// (package workspaces writes it; rights may not import workspaces).
type wsDescriptor struct {
	Project string    `json:"project"`
	Status  string    `json:"status"`
	Expires time.Time `json:"expires"`
	Batches []string  `json:"batches"`
}

// workspaceDescriptors reads every workspaces/<project>/workspace.json;
// an unreadable one is passed over.
func workspaceDescriptors(ctx context.Context, st objstore.Store) ([]wsDescriptor, error) {
	var out []wsDescriptor
	for info, err := range st.List(ctx, "workspaces/") {
		if err != nil {
			if errors.Is(err, objstore.ErrNotExist) {
				break
			}
			return nil, err
		}
		if !strings.HasSuffix(info.Key, "/workspace.json") {
			continue
		}
		var d wsDescriptor
		if err := objstore.ReadJSON(ctx, st, info.Key, 1<<20, &d); err != nil {
			continue
		}
		out = append(out, d)
	}
	return out, nil
}

// rotationMaps lists the maps of pseudonym-key rotations by batch.
func rotationMaps(ctx context.Context, st objstore.Store) (map[string][]string, error) {
	out := map[string][]string{}
	for info, err := range st.List(ctx, warehouse.RotationMapPrefix) {
		if err != nil {
			return nil, err
		}
		b := batchOfMap(info.Key)
		out[b] = append(out[b], info.Key)
	}
	return out, nil
}

// ExpireRotationMaps removes the old-to-new maps of the pseudonym-key
// rotations whose record (warehouse.RotationRecord) has expired at now:
// they are kept for the sealed policy's retention.rotation_map_months
// (package rotation). It returns the versions whose maps went (would go,
// with dryRun).
func ExpireRotationMaps(ctx context.Context, st objstore.Store, now time.Time, dryRun bool) ([]int, error) {
	var out []int
	for info, err := range st.List(ctx, warehouse.RotationRecordPrefix) {
		if err != nil {
			return out, err
		}
		var rec warehouse.RotationRecord
		if err := objstore.ReadJSON(ctx, st, info.Key, 1<<16, &rec); err != nil {
			return out, err
		}
		if rec.Version == 0 || now.Before(rec.Expires) {
			continue
		}
		prefix := strings.TrimSuffix(warehouse.RotationMapKey(rec.Version, ""), "batch=.parquet")
		n := 0
		for m, err := range st.List(ctx, prefix) {
			if err != nil {
				return out, err
			}
			n++
			if dryRun {
				continue
			}
			if err := st.Delete(ctx, m.Key); err != nil {
				return out, err
			}
		}
		if n > 0 {
			out = append(out, rec.Version)
		}
	}
	return out, nil
}
