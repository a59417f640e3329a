package rotation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"hdw/keys"
	"hdw/objstore"
	"hdw/pseudo"
	"hdw/rights"
	"hdw/tables"
	"hdw/warehouse"
)

// Keys is what a rotation needs from the key provider: the batch data keys
// and the warehouse pseudonym key (the dpo). A profile without that key
// (the curator) only re-joins the genetic store to the rotated health store.
type Keys interface {
	warehouse.KeySource
	PseudonymKey(ctx context.Context, name string) (keys.Secret, error)
}

// Options tune a run.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// MapMonths is how long the old-to-new map is kept (the sealed policy's
	// retention.rotation_map_months); 0 means [DefaultMapMonths].
	MapMonths int
	// Event records an audit event (counts and batch ids only).
	Event func(ctx context.Context, action string, target map[string]string, counts map[string]int64)
	// Workspaces is the workspace index (nil: no workspaces looked at).
	// With RekeyWorkspaces the workspaces move to the rotated pseudonyms
	// (asked for: see rekeyWorkspaces); without, those that hold rows
	// under the old ones are only counted (Result.WorkspacesBehind).
	Workspaces      rights.WorkspaceIndex
	RekeyWorkspaces bool
	// AfterStep, when set, is called after every step that changed the
	// warehouse (tests place their kill points there).
	AfterStep func(step string)
}

// DefaultMapMonths is the retention of the old-to-new map when the policy
// sets none: long enough to answer the rights requests and the workspace
// owners of the year, short enough that old pseudonyms stop being linkable.
const DefaultMapMonths = 12

// Result counts what a run did.
type Result struct {
	// To is the key version the pseudonyms move to (0 when this profile
	// holds no warehouse pseudonym key: only the genetic re-join ran).
	To      int              `json:"to"`
	Batches int64            `json:"batches"`
	Tables  map[string]int64 `json:"tables"` // tables rewritten, per store
	Rows    int64            `json:"rows"`
	Images  int64            `json:"images"`
	MapRows int64            `json:"map_rows"`
	// Workspaces re-keyed by this run; WorkspacesBehind, those left under
	// the old pseudonyms (not asked to re-key).
	Workspaces       int64 `json:"workspaces"`
	WorkspacesBehind int64 `json:"workspaces_behind,omitempty"`
	// Pending counts, per store, the batches left for another profile
	// (identity and health: the dpo; genetic: the curator).
	Pending map[string]int64 `json:"pending,omitempty"`
}

// Done reports whether nothing is left for another profile.
func (r *Result) Done() bool { return len(r.Pending) == 0 }

// ErrIngestRunning means a batch is being ingested: its pseudonyms would be
// computed with a version the rotation does not know yet.
var ErrIngestRunning = errors.New("rotation: an ingest is running or was interrupted (pending/ holds a lease): let it finish, or rerun hdw ingest to clean it up, then rotate again")

type run struct {
	wh    *warehouse.Warehouse
	k     Keys
	opt   Options
	res   *Result
	links []*pseudo.Keyed // version i+1 alone, to carry a pseudonym to it
	deks  map[string]keys.Secret
}

// Run moves every committed batch's pseudonyms to the latest version of the
// warehouse pseudonym key, as far as the profile behind k may (see the
// package comment), and returns what it did; rerun it after an interruption.
func Run(ctx context.Context, wh *warehouse.Warehouse, k Keys, opt Options) (*Result, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.MapMonths <= 0 {
		opt.MapMonths = DefaultMapMonths
	}
	for _, err := range wh.St.List(ctx, "pending/") {
		if err != nil {
			return nil, err
		}
		return nil, ErrIngestRunning
	}
	r := &run{wh: wh, k: k, opt: opt, res: &Result{Tables: map[string]int64{}, Pending: map[string]int64{}}, deks: map[string]keys.Secret{}}
	defer r.wipe()
	sec, err := k.PseudonymKey(ctx, keys.PseudoWarehouse)
	switch {
	case err == nil:
		for _, l := range keys.Links(sec) {
			kd, err := pseudo.New(keys.NewSecret(l))
			if err != nil {
				sec.Wipe()
				return nil, err
			}
			r.links = append(r.links, kd)
		}
		sec.Wipe()
		r.res.To = len(r.links)
	case errors.Is(err, keys.ErrForbidden):
	default:
		return nil, fmt.Errorf("warehouse pseudonym key: %w", err)
	}
	if r.res.To > 1 {
		if err := writeRecord(ctx, wh.St, r.res.To, opt.Now().UTC(), opt.MapMonths); err != nil {
			return nil, err
		}
	}
	commits, err := wh.Commits(ctx)
	if err != nil {
		return nil, err
	}
	for i := range commits {
		if err := r.batch(ctx, &commits[i]); err != nil {
			return r.res, fmt.Errorf("rotate batch %s: %w", commits[i].Batch, err)
		}
	}
	if r.res.To > 1 && r.res.Pending[keys.Identity] == 0 {
		if x := opt.Workspaces; x != nil && opt.RekeyWorkspaces {
			if err := r.rekeyWorkspaces(ctx, x); err != nil {
				return r.res, err
			}
		} else if x != nil {
			if r.res.WorkspacesBehind, err = r.workspacesBehind(ctx, x); err != nil {
				return r.res, err
			}
		}
	}
	if len(r.res.Pending) == 0 {
		r.res.Pending = nil
	}
	return r.res, nil
}

func (r *run) wipe() {
	for k, s := range r.deks {
		s.Wipe()
		delete(r.deks, k)
	}
	for _, l := range r.links {
		l.Wipe()
	}
}

func (r *run) step(s string) {
	if r.opt.AfterStep != nil {
		r.opt.AfterStep(s)
	}
}

// batch brings one batch's stores to the latest version.
func (r *run) batch(ctx context.Context, c *warehouse.Commit) error {
	r.res.Batches++
	before := *r.res
	defer func() {
		for k, s := range r.deks {
			s.Wipe()
			delete(r.deks, k)
		}
	}()
	steps := []struct {
		store string
		due   bool
		fn    func(context.Context, *warehouse.Commit) error
	}{
		{keys.Identity, r.res.To > c.PseudoVersion(keys.Identity), r.identity},
		{keys.Health, r.res.To > c.PseudoVersion(keys.Health), r.health},
	}
	for _, s := range steps {
		if !s.due {
			continue
		}
		if err := s.fn(ctx, c); errors.Is(err, keys.ErrForbidden) {
			r.res.Pending[s.store]++
		} else if err != nil {
			return err
		}
	}
	if c.PseudoVersion(keys.Genetic) < c.PseudoVersion(keys.Health) {
		if err := r.genetic(ctx, c); errors.Is(err, keys.ErrForbidden) {
			r.res.Pending[keys.Genetic]++
		} else if err != nil {
			return err
		}
	}
	if r.res.Rows > before.Rows || r.res.Images > before.Images {
		r.event(ctx, "keys.rotate_pseudo.batch", map[string]string{"batch": c.Batch},
			map[string]int64{"rows": r.res.Rows - before.Rows, "images": r.res.Images - before.Images, "map_rows": r.res.MapRows - before.MapRows})
	}
	return nil
}

func (r *run) event(ctx context.Context, action string, target map[string]string, counts map[string]int64) {
	if r.opt.Event == nil {
		return
	}
	if r.res.To > 0 {
		target["version"] = fmt.Sprint(r.res.To)
	}
	r.opt.Event(ctx, action, target, counts)
}

// dek returns a batch's data key for store (cached for the batch).
func (r *run) dek(ctx context.Context, batch, store string) (keys.Secret, error) {
	if s, ok := r.deks[store]; ok {
		return s, nil
	}
	s, err := r.wh.DataKey(ctx, batch, store)
	if err != nil {
		return keys.Secret{}, fmt.Errorf("data key of the %s store: %w", store, err)
	}
	r.deks[store] = s
	return s, nil
}

// carry returns the function that moves a pseudonym from version from to
// the latest.
func (r *run) carry(from int) func(string) string {
	return func(p string) string {
		if p == "" {
			return p
		}
		for v := from + 1; v <= len(r.links); v++ {
			p = r.links[v-1].Rotate(p)
		}
		return p
	}
}

// amend records that store is at version v in the batch's commit record,
// with the objects as they are now.
func (r *run) amend(ctx context.Context, c *warehouse.Commit, store string, v int) error {
	if c.PseudoVersions == nil {
		c.PseudoVersions = map[string]int{}
	}
	c.PseudoVersions[store] = v
	if err := objstore.WriteJSON(ctx, r.wh.St, warehouse.CommitKey(c.Batch), c); err != nil {
		return fmt.Errorf("amend the commit record: %w", err)
	}
	r.step("amend " + store)
	return nil
}

// tablesOf returns the indexes of the batch's tables under prefix.
func tablesOf(c *warehouse.Commit, prefix string) []int {
	var out []int
	for i, o := range c.Objects {
		if strings.HasPrefix(o.Key, prefix) && strings.HasSuffix(o.Key, ".parquet") {
			out = append(out, i)
		}
	}
	return out
}

// current hashes the table of ref as it streams from the store and
// reports whether an interrupted run already rewrote it (its plaintext
// hash no longer matches the commit record; ref is then updated to it).
func (r *run) current(ctx context.Context, ref *warehouse.ObjectRef, dek keys.Secret) (bool, error) {
	sum, size, err := tables.DigestObject(ctx, r.wh.St, ref.Key, dek)
	if err != nil {
		return false, err
	}
	if sum != ref.SHA256 {
		ref.SHA256, ref.Size = sum, size
		return true, nil
	}
	return false, nil
}

// rewrite rewrites the table of ref through edit (tables.Rewrite) unless
// an interrupted run already did, and updates ref.
func (r *run) rewrite(ctx context.Context, ref *warehouse.ObjectRef, dek keys.Secret, edit tables.Edit) error {
	if done, err := r.current(ctx, ref, dek); err != nil || done {
		return err
	}
	return r.publish(ctx, ref, dek, edit)
}

// publish rewrites the table of ref through edit and updates ref.
func (r *run) publish(ctx context.Context, ref *warehouse.ObjectRef, dek keys.Secret, edit tables.Edit) error {
	obj, err := tables.Rewrite(ctx, r.wh.St, ref.Key, dek, keys.Secret{}, tables.Envelope, nil, edit)
	if err != nil {
		return err
	}
	ref.SHA256, ref.Size = obj.SHA256, obj.Size
	r.res.Tables[ref.Store]++
	r.step("rewrite " + ref.Store)
	return nil
}

// identity writes the batch's old-to-new map, then rewrites its identity table.
func (r *run) identity(ctx context.Context, c *warehouse.Commit) error {
	carry := r.carry(c.PseudoVersion(keys.Identity))
	for _, i := range tablesOf(c, "identity/persons/") {
		ref := &c.Objects[i]
		dek, err := r.dek(ctx, c.Batch, keys.Identity)
		if err != nil {
			return err
		}
		done, err := r.current(ctx, ref, dek)
		if err != nil {
			return err
		}
		if done {
			continue
		}
		// The map first, so that it exists whenever the new pseudonyms do.
		n, err := writeMap(ctx, r.wh.St, MapKey(r.res.To, c.Batch), dek, ref.Key, carry)
		if err != nil {
			return err
		}
		r.res.MapRows += n
		r.step("map")
		if err := r.publish(ctx, ref, dek, func(m map[string]string) (bool, error) {
			m["pseudonym"] = carry(m["pseudonym"])
			r.res.Rows++
			return true, nil
		}); err != nil {
			return err
		}
	}
	return r.amend(ctx, c, keys.Identity, r.res.To)
}

// imageKey returns the new key of an image under health/images/<old>/.
func imageKey(key string, carry func(string) string) (newKey, oldP, newP string, ok bool) {
	rest, ok := strings.CutPrefix(key, "health/images/")
	if !ok {
		return "", "", "", false
	}
	oldP, name, ok := strings.Cut(rest, "/")
	if !ok || oldP == "" {
		return "", "", "", false
	}
	newP = carry(oldP)
	return "health/images/" + newP + "/" + name, oldP, newP, true
}

// health moves the batch's images, then rewrites its records tables.
func (r *run) health(ctx context.Context, c *warehouse.Commit) error {
	carry := r.carry(c.PseudoVersion(keys.Health))
	dek, err := r.dek(ctx, c.Batch, keys.Health)
	if err != nil {
		return err
	}
	for i := range c.Objects {
		o := &c.Objects[i]
		newKey, oldP, newP, ok := imageKey(o.Key, carry)
		if !ok {
			continue
		}
		if err := r.moveImage(ctx, dek, o, newKey, oldP, newP); err != nil {
			return err
		}
	}
	for _, i := range tablesOf(c, "health/records/") {
		if err := r.rewrite(ctx, &c.Objects[i], dek, func(m map[string]string) (bool, error) {
			m["pseudonym"] = carry(m["pseudonym"])
			if nk, _, _, ok := imageKey(m["image_key"], carry); ok {
				m["image_key"] = nk
			}
			r.res.Rows++
			return true, nil
		}); err != nil {
			return err
		}
	}
	return r.amend(ctx, c, keys.Health, r.res.To)
}

// moveImage moves an image to its new pseudonym's folder
// (rights.MoveImage); an image already moved by an interrupted run is only
// hashed.
func (r *run) moveImage(ctx context.Context, dek keys.Secret, o *warehouse.ObjectRef, newKey, oldP, newP string) error {
	st := r.wh.St
	if _, err := st.Stat(ctx, o.Key); errors.Is(err, objstore.ErrNotExist) {
		in, err := warehouse.OpenEncrypted(ctx, st, newKey, dek)
		if err != nil {
			return fmt.Errorf("image neither in its old nor in its new folder: %w", err)
		}
		defer in.Close()
		h := sha256.New()
		n, err := io.Copy(h, in)
		if err != nil {
			return err
		}
		*o = warehouse.ObjectRef{Key: newKey, Store: keys.Health, SHA256: hex.EncodeToString(h.Sum(nil)), Size: n}
		return nil
	} else if err != nil {
		return err
	}
	ref, err := rights.MoveImage(ctx, st, dek, o.Key, newKey, oldP, newP)
	if err != nil {
		return err
	}
	*o = ref
	r.res.Images++
	r.step("image moved")
	return nil
}

// genetic rewrites the batch's genetic tables from its rotated health
// table (record_id -> pseudonym): no pseudonym key is needed.
func (r *run) genetic(ctx context.Context, c *warehouse.Commit) error {
	target := c.PseudoVersion(keys.Health)
	gen := tablesOf(c, "genetic/")
	if len(gen) == 0 {
		return r.amend(ctx, c, keys.Genetic, target)
	}
	gdek, err := r.dek(ctx, c.Batch, keys.Genetic)
	if err != nil {
		return err
	}
	hdek, err := r.dek(ctx, c.Batch, keys.Health)
	if err != nil {
		return err
	}
	byRecord := map[string]string{}
	for _, i := range tablesOf(c, "health/records/") {
		if _, err := tables.ScanObject(ctx, r.wh.St, c.Objects[i].Key, hdek, tables.Query{Columns: []string{"record_id", "pseudonym"}}, func(row *tables.Row) error {
			byRecord[row.Get("record_id")] = row.Get("pseudonym")
			return nil
		}); err != nil {
			return err
		}
	}
	for _, i := range gen {
		if err := r.rewrite(ctx, &c.Objects[i], gdek, func(m map[string]string) (bool, error) {
			p, ok := byRecord[m["record_id"]]
			if !ok {
				return false, errors.New("a genetic row has no health record in its batch: run hdw rights or ask the dpo before rotating")
			}
			m["pseudonym"] = p
			r.res.Rows++
			return true, nil
		}); err != nil {
			return err
		}
	}
	return r.amend(ctx, c, keys.Genetic, target)
}
