package rights

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"hdw/keys"
	"hdw/objstore"
	"hdw/warehouse"
)

// RestrictPrefix is the folder of the restriction registry (GDPR art. 18).
// Each entry is a JSON document encrypted under the health store key (its
// data key under dek/restrict-<id>.json): it names warehouse pseudonyms,
// which only the profiles reading the health store may see.
const RestrictPrefix = "rights/restricted/"

// ErrRestricted means the person's processing is restricted (GDPR art.
// 18): they are kept but excluded from new workspaces, exports and
// re-identifications until the restriction is lifted.
var ErrRestricted = errors.New("rights: this person's processing is restricted (GDPR art. 18): lift the restriction first (hdw rights lift)")

// Restriction is one entry of the registry.
type Restriction struct {
	ID         string    `json:"id"`
	Time       time.Time `json:"time"`
	Request    string    `json:"request"`
	Operator   string    `json:"operator,omitempty"`
	Action     string    `json:"action"` // restrict or lift
	Pseudonyms []string  `json:"pseudonyms"`
}

// RestrictReport is the answer of [Service.Restrict] and [Service.Lift]:
// no pseudonym, no identity.
type RestrictReport struct {
	Request string `json:"request"`
	ID      string `json:"id"`
	Action  string `json:"action"`
	Found   bool   `json:"found"`
	Keys    int    `json:"pseudonyms"`
}

// Restrict restricts the processing of the person (GDPR art. 18): every
// pseudonym they were stored under is added to the registry.
func (s *Service) Restrict(ctx context.Context, req Request, subj Subject) (*RestrictReport, error) {
	return s.restriction(ctx, req, subj, "restrict")
}

// Lift lifts a restriction.
func (s *Service) Lift(ctx context.Context, req Request, subj Subject) (*RestrictReport, error) {
	return s.restriction(ctx, req, subj, "lift")
}

func (s *Service) restriction(ctx context.Context, req Request, subj Subject, action string) (*RestrictReport, error) {
	p, d, err := s.begin(ctx, req, subj, action)
	if err != nil {
		return nil, err
	}
	defer d.wipe()
	now := s.opt.Now().UTC()
	r := Restriction{ID: warehouse.NewID(now), Time: now, Request: req.Ref, Operator: s.opt.Operator, Action: action, Pseudonyms: p.list()}
	if err := writeRestriction(ctx, s.wh, r); err != nil {
		return nil, err
	}
	loc, err := s.locate(ctx, req, p, d)
	if err != nil {
		return nil, err
	}
	return &RestrictReport{Request: req.Ref, ID: r.ID, Action: action, Found: loc.Found, Keys: len(r.Pseudonyms)}, nil
}

func writeRestriction(ctx context.Context, wh *warehouse.Warehouse, r Restriction) error {
	batch := "restrict-" + r.ID
	deks, err := wh.NewBatchKeys(ctx, batch, []string{keys.Health}, false)
	if err != nil {
		return fmt.Errorf("restriction registry: %w", err)
	}
	dek := deks[keys.Health]
	defer dek.Wipe()
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	// Entries are replayed in name order: a sequence number first, so that
	// a restriction and its lift in the same second keep their order (IDs
	// alone sort by time, then at random).
	seq := 0
	for info, err := range wh.St.List(ctx, RestrictPrefix) {
		if err != nil {
			if errors.Is(err, objstore.ErrNotExist) {
				break
			}
			return fmt.Errorf("restriction registry: %w", err)
		}
		if strings.HasSuffix(info.Key, ".json") {
			seq++
		}
	}
	return warehouse.PutEncrypted(ctx, wh.St, fmt.Sprintf("%s%010d-%s.json", RestrictPrefix, seq, r.ID), dek, b)
}

// Restricted returns the warehouse pseudonyms whose processing is
// restricted now (entries replayed in order). Any profile that reads the
// health store may call it (curator for workspaces and exports, dpo).
func Restricted(ctx context.Context, wh *warehouse.Warehouse) (map[string]bool, error) {
	var names []string
	for info, err := range wh.St.List(ctx, RestrictPrefix) {
		if err != nil {
			if errors.Is(err, objstore.ErrNotExist) {
				break
			}
			return nil, err
		}
		if strings.HasSuffix(info.Key, ".json") {
			names = append(names, info.Key)
		}
	}
	sort.Strings(names)
	out := map[string]bool{}
	for _, n := range names {
		id := strings.TrimSuffix(strings.TrimPrefix(n, RestrictPrefix), ".json")
		if _, rest, ok := strings.Cut(id, "-"); ok && len(id) > 11 && id[10] == '-' {
			id = rest // "<sequence>-<id>"
		}
		dek, err := wh.DataKey(ctx, "restrict-"+id, keys.Health)
		if err != nil {
			return nil, fmt.Errorf("restriction registry %s: %w", id, err)
		}
		b, err := warehouse.ReadEncryptedAll(ctx, wh.St, n, dek, 16<<20)
		dek.Wipe()
		if err != nil {
			return nil, fmt.Errorf("restriction registry %s: %w", id, err)
		}
		var r Restriction
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("restriction registry %s: %w", id, err)
		}
		for _, p := range r.Pseudonyms {
			out[p] = r.Action == "restrict"
		}
	}
	for p, on := range out {
		if !on {
			delete(out, p)
		}
	}
	return out, nil
}
