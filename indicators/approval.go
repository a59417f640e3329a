package indicators

import (
	"bytes"
	"context"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"hdw/objstore"
)

// Decisions of an [Approval].
const (
	Pending  = "pending-approval"
	Approved = "approved"
	Rejected = "rejected"
)

// ErrSelfApproval means the author of a definition tried to approve it
// (SEC-EXP-5: a manager's validation, by someone else).
var ErrSelfApproval = errors.New("indicators: the author of a definition may not approve it")

// ErrNotApproved means no approved definition of that name matches.
var ErrNotApproved = errors.New("indicators: no approved definition")

// ErrExist means the same definition was already submitted.
var ErrExist = errors.New("indicators: definition already submitted")

// Submission is a definition as its author submitted it, sealed.
type Submission struct {
	Definition    Definition `json:"definition"`
	Hash          string     `json:"definition_sha256"`
	Author        string     `json:"author"` // operator id
	AuthorProfile string     `json:"author_profile"`
	Submitted     time.Time  `json:"submitted"`
	MAC           string     `json:"mac,omitempty"`
}

// Approval is a manager's decision on one submission, sealed and bound to
// the definition's content hash. It is written once: a decision is never
// changed, a new definition needs a new one.
type Approval struct {
	Indicator       string    `json:"indicator"`
	Hash            string    `json:"definition_sha256"`
	Decision        string    `json:"decision"` // approved or rejected
	Approver        string    `json:"approver"` // operator id
	ApproverProfile string    `json:"approver_profile"`
	Decided         time.Time `json:"decided"`
	Reason          string    `json:"reason,omitempty"`
	MAC             string    `json:"mac,omitempty"`
}

// Registry keeps definitions and approvals under indicators/definitions/<name>/<hash>/.
type Registry struct {
	St  objstore.Store
	MAC MAC
	Now func() time.Time
}

func defPrefix(name string) string { return "indicators/definitions/" + name + "/" }

func (r *Registry) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func putSealed(ctx context.Context, st objstore.Store, mac MAC, key string, v any, setMAC func(string)) error {
	_, sum, err := seal(ctx, mac, v)
	if err != nil {
		return err
	}
	setMAC(sum)
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	err = st.PutIfAbsent(ctx, key, bytes.NewReader(raw))
	if errors.Is(err, objstore.ErrExist) {
		return ErrExist
	}
	return err
}

// Submit records a definition, already compiled against the dictionary (the
// automatic check), for approval.
func (r *Registry) Submit(ctx context.Context, d Definition, author, profile string) (Submission, error) {
	s := Submission{Definition: d, Hash: d.Hash(), Author: author, AuthorProfile: profile, Submitted: r.now()}
	err := putSealed(ctx, r.St, r.MAC, defPrefix(d.Name)+s.Hash+"/definition.json", &s, func(m string) { s.MAC = m })
	return s, err
}

// Entry is a submission with its decision, if any.
type Entry struct {
	Submission Submission `json:"submission"`
	Approval   *Approval  `json:"approval,omitempty"`
}

// Status is the entry's state: pending-approval, approved or rejected.
func (e Entry) Status() string {
	if e.Approval == nil {
		return Pending
	}
	return e.Approval.Decision
}

func (r *Registry) readSubmission(ctx context.Context, key string) (Submission, error) {
	var s Submission
	raw, err := readSmall(ctx, r.St, key)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, fmt.Errorf("%w: %s", ErrTampered, key)
	}
	mac := s.MAC
	s.MAC = ""
	_, sum, err := seal(ctx, r.MAC, s)
	if err != nil {
		return s, err
	}
	if !hmac.Equal([]byte(sum), []byte(mac)) || s.Definition.Hash() != s.Hash || !strings.HasSuffix(key, "/"+s.Hash+"/definition.json") {
		return s, fmt.Errorf("%w: %s", ErrTampered, key)
	}
	s.MAC = mac
	return s, nil
}

func (r *Registry) readApproval(ctx context.Context, key, hash string) (*Approval, error) {
	raw, err := readSmall(ctx, r.St, key)
	if errors.Is(err, objstore.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var a Approval
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrTampered, key)
	}
	mac := a.MAC
	a.MAC = ""
	_, sum, err := seal(ctx, r.MAC, a)
	if err != nil {
		return nil, err
	}
	if !hmac.Equal([]byte(sum), []byte(mac)) || a.Hash != hash {
		return nil, fmt.Errorf("%w: %s", ErrTampered, key)
	}
	a.MAC = mac
	return &a, nil
}

// Entries returns the verified submissions of name (every name when name
// is ""), oldest first.
func (r *Registry) Entries(ctx context.Context, name string) ([]Entry, error) {
	prefix := "indicators/definitions/"
	if name != "" {
		if !ValidName(name) {
			return nil, fmt.Errorf("%w: name must be 1-64 of a-z, 0-9, '-', '_'", ErrDefinition)
		}
		prefix = defPrefix(name)
	}
	var out []Entry
	for info, err := range r.St.List(ctx, prefix) {
		if err != nil {
			return nil, err
		}
		if !strings.HasSuffix(info.Key, "/definition.json") {
			continue
		}
		s, err := r.readSubmission(ctx, info.Key)
		if err != nil {
			return nil, err
		}
		a, err := r.readApproval(ctx, strings.TrimSuffix(info.Key, "definition.json")+"approval.json", s.Hash)
		if err != nil {
			return nil, err
		}
		out = append(out, Entry{Submission: s, Approval: a})
	}
	slices.SortStableFunc(out, func(a, b Entry) int { return a.Submission.Submitted.Compare(b.Submission.Submitted) })
	return out, nil
}

// Decide records an approver's decision on the latest pending submission
// of name. The author may not decide on their own definition.
func (r *Registry) Decide(ctx context.Context, name, approver, profile string, approve bool, reason string) (Approval, error) {
	es, err := r.Entries(ctx, name)
	if err != nil {
		return Approval{}, err
	}
	var pending *Entry
	for i := range es {
		if es[i].Approval == nil {
			pending = &es[i]
		}
	}
	if pending == nil {
		return Approval{}, fmt.Errorf("indicators: no definition of %s is pending approval", name)
	}
	if pending.Submission.Author == approver {
		return Approval{}, ErrSelfApproval
	}
	a := Approval{Indicator: name, Hash: pending.Submission.Hash, Decision: Rejected, Approver: approver,
		ApproverProfile: profile, Decided: r.now(), Reason: reason}
	if approve {
		a.Decision = Approved
	}
	err = putSealed(ctx, r.St, r.MAC, defPrefix(name)+a.Hash+"/approval.json", &a, func(m string) { a.MAC = m })
	if errors.Is(err, ErrExist) {
		return Approval{}, fmt.Errorf("indicators: %s was decided meanwhile", name)
	}
	return a, err
}

// Approved returns the latest approved definition of name, verified.
func (r *Registry) Approved(ctx context.Context, name string) (Entry, error) {
	es, err := r.Entries(ctx, name)
	if err != nil {
		return Entry{}, err
	}
	for i := len(es) - 1; i >= 0; i-- {
		if es[i].Status() == Approved {
			return es[i], nil
		}
	}
	return Entry{}, fmt.Errorf("%w named %s: submit it (hdw indicators define) and have an approver approve it", ErrNotApproved, name)
}
