package rights

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"hdw/objstore"
)

// LedgerPrefix is the folder of the re-identification ledger in the warehouse.
const LedgerPrefix = "rights/ledger/"

// LedgerEntry is one guarded call (SEC-REI-4, -5). Persons are short
// unkeyed hashes of the person's first warehouse pseudonym: they count
// distinct persons without holding a pseudonym or an identity.
type LedgerEntry struct {
	Time     time.Time `json:"time"`
	Operator string    `json:"operator,omitempty"`
	Request  string    `json:"request"`
	Kind     string    `json:"kind"`
	Persons  []string  `json:"persons"`
	Outcome  string    `json:"outcome"` // admitted or refused
}

// ledgerTag is the ledger's tag of a person.
func ledgerTag(pseudonyms []string) string {
	if len(pseudonyms) == 0 {
		return "none"
	}
	ps := append([]string(nil), pseudonyms...)
	sort.Strings(ps)
	h := sha256.Sum256([]byte("hdw rights ledger\x00" + ps[0]))
	return hex.EncodeToString(h[:8])
}

func ledgerDay(t time.Time) string { return LedgerPrefix + t.UTC().Format("2006-01-02") + "/" }

// Ledger returns the entries of the UTC day of t, in order.
func Ledger(ctx context.Context, st objstore.Store, t time.Time) ([]LedgerEntry, error) {
	var out []LedgerEntry
	for info, err := range st.List(ctx, ledgerDay(t)) {
		if err != nil {
			if errors.Is(err, objstore.ErrNotExist) {
				break
			}
			return nil, err
		}
		var e LedgerEntry
		if err := objstore.ReadJSON(ctx, st, info.Key, 1<<20, &e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Used returns the number of distinct (request, person) pairs admitted on the UTC day of t.
func Used(entries []LedgerEntry) int {
	seen := map[string]bool{}
	for _, e := range entries {
		if e.Outcome != "admitted" {
			continue
		}
		for _, p := range e.Persons {
			seen[e.Request+"|"+p] = true
		}
	}
	return len(seen)
}

// admit counts the persons of a call in the ledger and refuses it, with an
// alert, when the daily limit would be exceeded. A person already counted
// today under the same request is not counted again, so one request's
// find, access and erase count once.
func (s *Service) admit(ctx context.Context, req Request, kind string, persons [][]string) error {
	now := s.opt.Now().UTC()
	entries, err := Ledger(ctx, s.wh.St, now)
	if err != nil {
		return fmt.Errorf("read the re-identification ledger: %w", err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if e.Outcome == "admitted" {
			for _, p := range e.Persons {
				seen[e.Request+"|"+p] = true
			}
		}
	}
	var tags []string
	fresh := 0
	for _, p := range persons {
		t := ledgerTag(p)
		tags = append(tags, t)
		if !seen[req.Ref+"|"+t] {
			seen[req.Ref+"|"+t] = true
			fresh++
		}
	}
	used := Used(entries)
	e := LedgerEntry{Time: now, Operator: s.opt.Operator, Request: req.Ref, Kind: kind, Persons: tags, Outcome: "admitted"}
	limit := s.opt.MaxPerDay
	if s.opt.MaxPerRequest > 0 && fresh > s.opt.MaxPerRequest {
		// The policy's per-call limit (reidentification.max_per_request).
		limit = used + s.opt.MaxPerRequest
	}
	if used+fresh > limit {
		s.opt.Logger.WarnContext(ctx, "rights call refused: re-identification limit", "kind", kind, "request", req.Ref, "used", used, "asked", fresh, "limit", limit)
		e.Outcome = "refused"
		e.Persons = nil
		werr := appendLedger(ctx, s.wh.St, now, len(entries), e)
		if s.opt.Alert != nil {
			s.opt.Alert(ctx, Alert{Time: now, Kind: kind, Request: req.Ref, Used: used, Asked: fresh, Limit: s.opt.MaxPerDay})
		}
		if werr != nil {
			return errors.Join(ErrRateLimit, werr)
		}
		return ErrRateLimit
	}
	if err := appendLedger(ctx, s.wh.St, now, len(entries), e); err != nil {
		return fmt.Errorf("write the re-identification ledger, nothing done: %w", err)
	}
	s.opt.Logger.DebugContext(ctx, "rights call admitted", "kind", kind, "request", req.Ref, "persons", len(persons), "new", fresh, "used", used+fresh, "limit", s.opt.MaxPerDay)
	return nil
}

// appendLedger writes an entry under the next free sequence number.
func appendLedger(ctx context.Context, st objstore.Store, now time.Time, seq int, e LedgerEntry) error {
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	for i := 0; i < 100; i++ {
		key := fmt.Sprintf("%s%06d.json", ledgerDay(now), seq+i)
		err := st.PutIfAbsent(ctx, key, bytes.NewReader(data))
		if errors.Is(err, objstore.ErrExist) {
			continue
		}
		return err
	}
	return errors.New("ledger: no free entry slot")
}
