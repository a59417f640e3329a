package indicators

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"hdw/keys"
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
	// Sig is the author's ed25519 signature when they logged in as an
	// enrolled operator (keys.Signer), over the record without Sig and MAC.
	Sig []byte `json:"sig,omitempty"`
	MAC string `json:"mac,omitempty"`
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
	// Sig is the approver's own ed25519 signature (an enrolled operator's
	// key, which the author does not hold), over the record without Sig and MAC.
	Sig []byte `json:"sig,omitempty"`
	MAC string `json:"mac,omitempty"`
}

// Signer signs as the logged-in operator with their own key (keys.Signer
// implements it).
type Signer interface {
	OperatorID() string
	Sign(ctx context.Context, msg []byte) ([]byte, error)
}

// Directory gives an enrolled operator's public key (keys.Directory
// implements it).
type Directory interface {
	Operator(ctx context.Context, id string) (keys.Operator, error)
}

// Registry keeps definitions and approvals under indicators/definitions/<name>/<hash>/.
// With a Signer, the records it writes are also signed by the logged-in
// operator; a signed record verifies only with Dir (its signer's key).
type Registry struct {
	St     objstore.Store
	MAC    MAC
	Signer Signer    // nil: records are MAC'd only (a profile's service identity)
	Dir    Directory // nil: a signed record does not verify
	Now    func() time.Time
}

// sign signs v (its Sig and MAC empty) as the registry's operator.
func (r *Registry) sign(ctx context.Context, v any) ([]byte, error) {
	if r.Signer == nil {
		return nil, nil
	}
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	sig, err := r.Signer.Sign(ctx, body)
	if err != nil {
		return nil, fmt.Errorf("indicators: sign: %w", err)
	}
	return sig, nil
}

// checkSig verifies a record's signature by operator id (no signature: ok).
func (r *Registry) checkSig(ctx context.Context, v any, id string, sig []byte) bool {
	if len(sig) == 0 {
		return true
	}
	if r.Dir == nil {
		return false
	}
	op, err := r.Dir.Operator(ctx, id)
	if err != nil || len(op.PublicKey) != ed25519.PublicKeySize {
		return false
	}
	body, err := json.Marshal(v)
	return err == nil && ed25519.Verify(op.PublicKey, body, sig)
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
	if r.Signer != nil {
		author = r.Signer.OperatorID()
	}
	s := Submission{Definition: d, Hash: d.Hash(), Author: author, AuthorProfile: profile, Submitted: r.now()}
	sig, err := r.sign(ctx, s)
	if err != nil {
		return s, err
	}
	s.Sig = sig
	err = putSealed(ctx, r.St, r.MAC, defPrefix(d.Name)+s.Hash+"/definition.json", &s, func(m string) { s.MAC = m })
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
	mac, ok, err := unseal(ctx, r.MAC, raw, &s, &s.MAC)
	if err != nil {
		return s, err
	}
	if !ok || s.Definition.Hash() != s.Hash || !strings.HasSuffix(key, "/"+s.Hash+"/definition.json") {
		return s, fmt.Errorf("%w: %s", ErrTampered, key)
	}
	sig, ok := signedBy(ctx, r, &s, &s.Sig, s.Author)
	if !ok {
		return s, fmt.Errorf("%w: %s: the author's signature does not verify", ErrTampered, key)
	}
	s.Sig, s.MAC = sig, mac
	return s, nil
}

// unseal decodes raw into v and checks its MAC (the field *macp, which
// stays cleared for the signature check; mac is its value): ok is false
// when raw does not decode or the MAC does not verify.
func unseal[T any](ctx context.Context, m MAC, raw []byte, v *T, macp *string) (mac string, ok bool, err error) {
	if json.Unmarshal(raw, v) != nil {
		return "", false, nil
	}
	mac, *macp = *macp, ""
	_, sum, err := seal(ctx, m, *v)
	if err != nil {
		return "", false, err
	}
	return mac, hmac.Equal([]byte(sum), []byte(mac)), nil
}

// signedBy checks v's signature (the field *sigp, cleared for the check;
// sig is its value) as operator who's.
func signedBy[T any](ctx context.Context, r *Registry, v *T, sigp *[]byte, who string) (sig []byte, ok bool) {
	sig, *sigp = *sigp, nil
	return sig, r.checkSig(ctx, *v, who, sig)
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
	mac, ok, err := unseal(ctx, r.MAC, raw, &a, &a.MAC)
	if err != nil {
		return nil, err
	}
	if !ok || a.Hash != hash {
		return nil, fmt.Errorf("%w: %s", ErrTampered, key)
	}
	sig, ok := signedBy(ctx, r, &a, &a.Sig, a.Approver)
	if !ok {
		return nil, fmt.Errorf("%w: %s: the approver's signature does not verify", ErrTampered, key)
	}
	a.Sig, a.MAC = sig, mac
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
	if r.Signer != nil {
		approver = r.Signer.OperatorID()
	}
	if pending.Submission.Author == approver {
		return Approval{}, ErrSelfApproval
	}
	a := Approval{Indicator: name, Hash: pending.Submission.Hash, Decision: Rejected, Approver: approver,
		ApproverProfile: profile, Decided: r.now(), Reason: reason}
	if approve {
		a.Decision = Approved
	}
	if a.Sig, err = r.sign(ctx, a); err != nil {
		return Approval{}, err
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
