package export

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Content is what an export request asks for and what the gate found:
// the record every decision is bound to by its hash (SEC-EXP-2). It holds
// references and figures only, never a row value.
type Content struct {
	ID          string    `json:"id"`
	Project     string    `json:"project"`
	ApprovalRef string    `json:"approval_ref"` // CSE/IRB opinion number
	Workspace   string    `json:"workspace,omitempty"`
	Table       string    `json:"table"`
	Requester   string    `json:"requester"` // operator id
	Created     time.Time `json:"created"`
	Request     Request   `json:"request"` // columns, rules, floors
	// Snapshot names the data the request was computed from (the
	// committed batches, or the workspace table's hash).
	Snapshot      string `json:"snapshot"`
	DataSHA256    string `json:"data_sha256"` // the stored (encrypted) release
	PolicyVersion int    `json:"policy_version"`
	Pass          bool   `json:"pass"`
}

// Hash returns the hex SHA-256 of the content's canonical JSON.
func (c Content) Hash() string {
	b, _ := json.Marshal(c)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Entry kinds of an export's history.
const (
	KindRequest = "request"
	KindApprove = "approve"
	KindReject  = "reject"
	KindRelease = "release"
	// KindCancel: the DPO cancelled an unreleased export whose data may
	// hold a person erased since (its data is deleted).
	KindCancel = "cancel"
)

// Entry is one signed step of an export's history: the request, each
// decision, each release. Each names the content hash and the previous
// entry's hash, and is signed by the acting operator's own key.
type Entry struct {
	Seq           int       `json:"seq"`
	Kind          string    `json:"kind"`
	Export        string    `json:"export"`
	ContentHash   string    `json:"content_hash"`
	Operator      string    `json:"operator"`
	Role          string    `json:"role"`
	Time          time.Time `json:"time"`
	Justification string    `json:"justification,omitempty"`
	Prev          string    `json:"prev,omitempty"`
	Sig           []byte    `json:"sig,omitempty"`
}

func (e Entry) signed() []byte {
	e.Sig = nil
	b, _ := json.Marshal(e)
	return append([]byte("hdw export record v1\n"), b...)
}

// Hash returns the hex SHA-256 of the entry, signature included.
func (e Entry) Hash() string {
	b, _ := json.Marshal(e)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Signer signs as one operator with their own key (keys.Signer).
type Signer interface {
	OperatorID() string
	PublicKey() ed25519.PublicKey
	Sign(ctx context.Context, msg []byte) ([]byte, error)
}

// Operator is what the verifier needs of an enrolled operator.
type Operator struct {
	ID        string
	Role      string // profile: curator, approver, dpo...
	PublicKey ed25519.PublicKey
}

// Directory finds enrolled operators (keys.Directory, adapted).
type Directory interface {
	Operator(ctx context.Context, id string) (Operator, error)
}

// ErrForged is wrapped when an export's history does not verify: an
// edited content, an unsigned or wrongly signed entry, a broken chain, an
// approval by the requester or by someone without the approver role.
var ErrForged = errors.New("export: history does not verify")

// NewEntry appends a signed entry of kind to history for content c.
func NewEntry(ctx context.Context, s Signer, role string, history []Entry, c Content, kind, justification string, now time.Time) (Entry, error) {
	if s == nil {
		return Entry{}, errors.New("export: no signer")
	}
	e := Entry{Seq: len(history) + 1, Kind: kind, Export: c.ID, ContentHash: c.Hash(), Operator: s.OperatorID(), Role: role,
		Time: now.UTC().Truncate(time.Millisecond), Justification: justification}
	if len(history) > 0 {
		e.Prev = history[len(history)-1].Hash()
	}
	sig, err := s.Sign(ctx, e.signed())
	if err != nil {
		return Entry{}, fmt.Errorf("export: sign %s: %w", kind, err)
	}
	e.Sig = sig
	return e, nil
}

// Rules are the approval rules of the sealed policy that a history must
// satisfy.
type Rules struct {
	// JustifiedSecondApprover: releasing a failed export needs two
	// approvals by two operators (neither the requester).
	JustifiedSecondApprover bool
	// SecondMayBeDPO: the second approval may come from the DPO role.
	SecondMayBeDPO bool
	// Substantive judges a justification (policy.Substantive).
	Substantive func(string) bool
}

// State is what a verified history says.
type State struct {
	Status    string   // pending-approval, quarantined, awaiting-second-approval, approved, rejected, released, cancelled
	Approvers []string // operator ids, in order
	Justified bool     // a failed export approved with a justification
	Releases  int
	// Signed: every entry's signature was verified against the operator
	// directory. False only while no directory is wired (dir == nil):
	// then the chain, the content binding and the rules are checked, not
	// who signed.
	Signed bool
}

// Verify checks content and history (SEC-EXP-2, SEC-EXP-3): every entry is
// bound to the content's hash, chained, and signed by its operator's key
// found in dir with the role it claims; the request is by the content's
// requester; approvals and rejections are by approvers who are not the
// requester (four eyes, by operator identity); a failed export is approved
// only with a substantive justification and, per rules, a second approver
// (another person; the DPO when rules allow). It returns the state.
// With a nil dir the signatures are not checked (State.Signed is false).
func Verify(ctx context.Context, dir Directory, c Content, history []Entry, rules Rules) (State, error) {
	st := State{Status: "pending-approval", Signed: dir != nil}
	if !c.Pass {
		st.Status = "quarantined"
	}
	forged := func(f string, a ...any) (State, error) {
		return State{}, fmt.Errorf("%w: %s", ErrForged, fmt.Sprintf(f, a...))
	}
	h := c.Hash()
	need := 1
	if !c.Pass && rules.JustifiedSecondApprover {
		need = 2
	}
	for i, e := range history {
		if e.Seq != i+1 || e.Export != c.ID {
			return forged("entry %d out of place", i+1)
		}
		if e.ContentHash != h {
			return forged("entry %d is bound to other content (the request was edited)", e.Seq)
		}
		if i > 0 && e.Prev != history[i-1].Hash() {
			return forged("entry %d does not follow entry %d", e.Seq, i)
		}
		if dir != nil {
			op, err := dir.Operator(ctx, e.Operator)
			if err != nil {
				return forged("entry %d: operator unknown: %v", e.Seq, err)
			}
			if op.Role != e.Role || len(op.PublicKey) != ed25519.PublicKeySize || !ed25519.Verify(op.PublicKey, e.signed(), e.Sig) {
				return forged("entry %d: signature or role does not verify", e.Seq)
			}
		}
		switch e.Kind {
		case KindRequest:
			if i != 0 || e.Operator != c.Requester || e.Role != "curator" {
				return forged("entry %d: the request is not the requester's", e.Seq)
			}
		case KindApprove, KindReject:
			if i == 0 {
				return forged("a decision before the request")
			}
			if st.Status == "approved" || st.Status == "rejected" || st.Status == "released" || st.Status == "cancelled" {
				return forged("entry %d: a decision after the export was %s", e.Seq, st.Status)
			}
			if e.Operator == c.Requester {
				return forged("entry %d: the requester decided on their own export (four eyes, SEC-EXP-2)", e.Seq)
			}
			for _, a := range st.Approvers {
				if a == e.Operator {
					return forged("entry %d: the same operator approved twice", e.Seq)
				}
			}
			second := len(st.Approvers) == 1 && need == 2
			roleOK := e.Role == "approver" || (second && rules.SecondMayBeDPO && e.Role == "dpo")
			if !roleOK {
				return forged("entry %d: %s may not decide on exports", e.Seq, e.Role)
			}
			if e.Kind == KindReject {
				st.Status = "rejected"
				continue
			}
			if !c.Pass && (rules.Substantive == nil || !rules.Substantive(e.Justification)) {
				return forged("entry %d: a failed export approved without a substantive justification (SEC-EXP-3)", e.Seq)
			}
			st.Approvers = append(st.Approvers, e.Operator)
			if len(st.Approvers) >= need {
				st.Status, st.Justified = "approved", !c.Pass
			} else {
				st.Status = "awaiting-second-approval"
			}
		case KindCancel:
			if e.Role != "dpo" || i == 0 || st.Status == "released" || st.Status == "cancelled" {
				return forged("entry %d: a cancellation by %s of an export that is %s", e.Seq, e.Role, st.Status)
			}
			st.Status = "cancelled"
		case KindRelease:
			if st.Status != "approved" && st.Status != "released" {
				return forged("entry %d: a release of an export that is %s", e.Seq, st.Status)
			}
			st.Status = "released"
			st.Releases++
		default:
			return forged("entry %d: unknown kind", e.Seq)
		}
	}
	if len(history) == 0 || history[0].Kind != KindRequest {
		return forged("no signed request")
	}
	return st, nil
}
