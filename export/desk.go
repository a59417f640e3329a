package export

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"hdw/configs"
	"hdw/keys"
	"hdw/objstore"
	"hdw/policy"
	"hdw/tables"
	"hdw/warehouse"
)

// ErrNotOperator: a signed record needs a person's own key.
var ErrNotOperator = errors.New("export records are signed by the person who acts: log in as an enrolled operator (HDW_OPERATOR=NAME, their own passphrase; with Vault, their own Vault login; hdw operator add) (SEC-EXP-2)")

// ErrNotFound: no export of that id.
var ErrNotFound = errors.New("export: no such export")

// Refused is a decision the workflow refuses (four eyes, state, role,
// justification): the caller audits it as a denial. Usage is true when
// the caller can fix it with a flag (a missing or weak justification).
type Refused struct {
	Err   error
	Usage bool
}

func (r *Refused) Error() string { return r.Err.Error() }
func (r *Refused) Unwrap() error { return r.Err }

func refuse(format string, args ...any) error {
	return &Refused{Err: fmt.Errorf(format, args...)}
}

// Desk is the export workflow of one warehouse as one operator acts on it
// (SEC-EXP-1..3): submit a checked request, decide, release, list and
// show. The caller authenticates, audits (every Refused and ErrForged is
// an audit event of its own) and prints; Desk reads and writes the
// records and enforces the rules with the sealed policy it is given.
type Desk struct {
	WH            *warehouse.Warehouse
	Dict          *configs.Dictionary
	Policy        policy.Policy
	PolicyVersion int
	Operator      string // the acting operator's id
	Role          string // the acting profile
	// Signer signs the records this operator writes; nil refuses every
	// write with ErrNotOperator. Dir verifies signatures; nil checks
	// chains unsigned (no operator enrolled yet, or Vault).
	Signer Signer
	Dir    Directory
	Now    func() time.Time
}

func (d *Desk) now() time.Time {
	if d.Now != nil {
		return d.Now().UTC()
	}
	return time.Now().UTC()
}

// Rules are the sealed policy's rules for export histories.
func (d *Desk) Rules() Rules { return PolicyRules(d.Policy) }

// PolicyRules are a policy's rules for export histories.
func PolicyRules(p policy.Policy) Rules {
	return Rules{
		JustifiedSecondApprover: p.Approval.JustifiedSecondApprover,
		SecondMayBeDPO:          p.Approval.JustifiedSecondMayBeDPO,
		Substantive:             func(j string) bool { return policy.Substantive(j, p.Approval.JustificationMinChars) },
	}
}

func (d *Desk) signer() (Signer, error) {
	if d.Signer == nil {
		return nil, &Refused{Err: ErrNotOperator}
	}
	return d.Signer, nil
}

// Verify checks an export's history against the directory and the policy.
func (d *Desk) Verify(ctx context.Context, f *Files) (State, error) {
	return Verify(ctx, d.Dir, f.Content, f.History, d.Rules())
}

// Open loads and verifies one export.
func (d *Desk) Open(ctx context.Context, id string) (*Files, State, error) {
	f, err := Load(ctx, d.WH.St, id)
	if err != nil {
		return f, State{}, err
	}
	st, err := d.Verify(ctx, f)
	return f, st, err
}

// append signs and appends an entry of kind, checks the new chain, writes
// it and the refreshed view.
func (d *Desk) append(ctx context.Context, f *Files, kind, justification string) (State, error) {
	signer, err := d.signer()
	if err != nil {
		return State{}, err
	}
	e, err := NewEntry(ctx, signer, d.Role, f.History, f.Content, kind, justification, d.now())
	if err != nil {
		return State{}, err
	}
	history := append(f.History, e)
	next, err := Verify(ctx, d.Dir, f.Content, history, d.Rules())
	if err != nil {
		return next, err
	}
	if err := putOnce(ctx, d.WH.St, historyKey(f.Root, e.Seq), e); err != nil {
		return next, err
	}
	f.History = history
	return next, writeView(ctx, d.WH.St, f.Root, NewView(f.Content, history, next, f.Gate))
}

// Submission is what Submit wrote.
type Submission struct {
	ID      string
	Report  *Report
	State   State
	Content Content
}

// SubmitRequest names what a request is for.
type SubmitRequest struct {
	Project, ApprovalRef, Workspace, Table string
	Request                                Request
}

// Submit checks src against the gate with the sealed policy's floors
// (SEC-EXP-1), writes the release (or held) data under a data key of its
// own, the gate's report, the content and the signed request entry: under
// exports/ when it passed (pending approval), quarantine/ when it failed
// (SEC-EXP-3). Gate errors (ErrLoosen, ErrRequest) are returned as they are.
func (d *Desk) Submit(ctx context.Context, src RowSource, r SubmitRequest) (*Submission, error) {
	signer, err := d.signer()
	if err != nil {
		return nil, err
	}
	gate := Gate{Dict: d.Dict, Floors: Floors{K: d.Policy.Export.K, L: d.Policy.Export.L, T: d.Policy.Export.T, MaxSuppression: d.Policy.Export.MaxSuppression}}
	rep, err := gate.Check(ctx, src, r.Request)
	if err != nil {
		return nil, err
	}
	snapshot, err := Snapshot(ctx, d.WH, r.Table, r.Project)
	if err != nil {
		return nil, err
	}
	id := warehouse.NewID(d.now())
	root := "exports/" + id + "/"
	if !rep.Pass {
		root = "quarantine/" + id + "/"
	}
	dataHash, err := d.writeData(ctx, id, root, src, rep)
	if err != nil {
		return nil, err
	}
	content := Content{ID: id, Project: r.Project, ApprovalRef: r.ApprovalRef, Workspace: r.Workspace, Table: r.Table,
		Requester: d.Operator, Created: d.now().Truncate(time.Millisecond), Request: rep.Request, Snapshot: snapshot,
		DataSHA256: dataHash, PolicyVersion: d.PolicyVersion, Pass: rep.Pass}
	if err := putOnce(ctx, d.WH.St, root+gateFile, rep); err != nil {
		return nil, err
	}
	if err := putOnce(ctx, d.WH.St, root+contentFile, content); err != nil {
		return nil, err
	}
	e, err := NewEntry(ctx, signer, d.Role, nil, content, KindRequest, "", d.now())
	if err != nil {
		return nil, err
	}
	if err := putOnce(ctx, d.WH.St, historyKey(root, e.Seq), e); err != nil {
		return nil, err
	}
	state := State{Status: "pending-approval"}
	if !rep.Pass {
		state.Status = "quarantined"
	}
	if err := writeView(ctx, d.WH.St, root, NewView(content, []Entry{e}, state, rep)); err != nil {
		return nil, err
	}
	return &Submission{ID: id, Report: rep, State: state, Content: content}, nil
}

// writeData writes the generalized, shuffled rows as a typed table
// ([ReleaseLayout]) in hdw's envelope under a data key of the export's
// own and returns the ciphertext's SHA-256, which the content binds (a
// swapped file is a forgery at release).
func (d *Desk) writeData(ctx context.Context, id, root string, src RowSource, rep *Report) (string, error) {
	deks, err := d.WH.NewBatchKeys(ctx, "export-"+id, []string{keys.Health}, false)
	if err != nil {
		return "", err
	}
	dek := deks[keys.Health]
	defer dek.Wipe()
	l, err := ReleaseLayout(d.Dict, rep.Request, rep.OutputColumns)
	if err != nil {
		return "", err
	}
	w, err := tables.Create(ctx, d.WH.St, root+dataFile, dek, tables.Envelope, l.Schema)
	if err != nil {
		return "", err
	}
	vals := make([]string, len(l.From))
	if err := Apply(ctx, src, rep, func(out []string) error {
		l.row(vals, out)
		return w.Append(vals)
	}); err != nil {
		w.Abort()
		return "", err
	}
	if _, err := w.Close(); err != nil {
		return "", err
	}
	return sha256Object(ctx, d.WH.St, root+dataFile)
}

func sha256Object(ctx context.Context, s objstore.Store, key string) (string, error) {
	r, err := s.Open(ctx, key)
	if err != nil {
		return "", err
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Snapshot names the data a request is computed from: the committed
// batches for the health table, the workspace table's object otherwise.
func Snapshot(ctx context.Context, wh *warehouse.Warehouse, table, project string) (string, error) {
	h := sha256.New()
	if table == "health" {
		cs, err := wh.Commits(ctx)
		if err != nil {
			return "", err
		}
		for _, c := range cs {
			fmt.Fprintf(h, "%s\n", c.Batch)
		}
		return "batches:" + hex.EncodeToString(h.Sum(nil)), nil
	}
	info, err := wh.St.Stat(ctx, "workspaces/"+project+"/"+table+".parquet")
	if err != nil {
		return "", err
	}
	fmt.Fprintf(h, "%s %d %s", info.Key, info.Size, info.ETag)
	return "workspace:" + hex.EncodeToString(h.Sum(nil)), nil
}

// Decision is what Decide appended.
type Decision struct {
	Files *Files
	State State
	// Justified is true for the approval of a failed (quarantined)
	// export: a release the audit review flags (SEC-EXP-3).
	Justified bool
}

// Decide appends an approval or a rejection (SEC-EXP-2/3). Refusals are
// *Refused: the requester deciding on their own export, an export already
// decided, the DPO outside the second approval the policy allows, a
// failed export approved without a justification of substance, the same
// operator approving twice. A history that does not verify is ErrForged.
func (d *Desk) Decide(ctx context.Context, id string, approve bool, justification string) (*Decision, error) {
	f, state, err := d.Open(ctx, id)
	if err != nil {
		return &Decision{Files: f}, err
	}
	minChars := d.Policy.Approval.JustificationMinChars
	switch {
	case f.Content.Requester == d.Operator:
		return &Decision{Files: f}, refuse("the requester may not decide on their own export (four eyes, SEC-EXP-2)")
	case state.Status == "approved" || state.Status == "rejected" || state.Status == "released" || state.Status == "cancelled":
		return &Decision{Files: f}, refuse("export %s is already %s", id, state.Status)
	case d.Role == keys.ProfileDPO && !(state.Status == "awaiting-second-approval" && d.Policy.Approval.JustifiedSecondMayBeDPO):
		return &Decision{Files: f}, refuse("the DPO decides only as the second approver of a justified release, when the policy allows it")
	case approve && !f.Content.Pass && strings.TrimSpace(justification) == "":
		return &Decision{Files: f}, &Refused{Usage: true, Err: fmt.Errorf("export %s is quarantined: releasing it needs a manual review and --justification (SEC-EXP-3)", id)}
	case approve && !f.Content.Pass && !policy.Substantive(justification, minChars):
		return &Decision{Files: f}, &Refused{Usage: true, Err: fmt.Errorf("export %s: the justification is not one of substance: at least %d characters and several words saying what was reviewed and why the release is acceptable (SEC-EXP-3)", id, minChars)}
	}
	for _, a := range state.Approvers {
		if a == d.Operator {
			return &Decision{Files: f}, refuse("a second approval must come from another operator")
		}
	}
	kind := KindReject
	if approve {
		kind = KindApprove
	}
	next, err := d.append(ctx, f, kind, justification)
	if errors.Is(err, ErrForged) && !isRefused(err) {
		// The chain does not verify with this entry: the rules refuse it.
		err = &Refused{Err: err}
	}
	return &Decision{Files: f, State: next, Justified: approve && !f.Content.Pass}, err
}

func isRefused(err error) bool {
	var r *Refused
	return errors.As(err, &r)
}

// Release is an approved export handed out.
type Release struct {
	Files *Files
	State State
}

// Release checks that export id is approved (SEC-EXP-2) and that its
// stored data is the data that was checked (else ErrForged), appends the
// signed release entry and writes the decrypted Parquet release to w.
func (d *Desk) Release(ctx context.Context, id string, w io.Writer) (*Release, error) {
	f, state, err := d.Open(ctx, id)
	if err != nil {
		return &Release{Files: f}, err
	}
	if state.Status != "approved" && state.Status != "released" {
		return &Release{Files: f}, refuse("export %s is %s: only approved exports can be fetched (SEC-EXP-2)", id, state.Status)
	}
	if h, err := sha256Object(ctx, d.WH.St, f.Root+dataFile); err != nil || h != f.Content.DataSHA256 {
		return &Release{Files: f}, fmt.Errorf("%w: the stored data is not the data that was checked and approved", ErrForged)
	}
	if _, err := d.signer(); err != nil {
		return &Release{Files: f}, err
	}
	dek, err := d.WH.DataKey(ctx, "export-"+id, keys.Health)
	if err != nil {
		return &Release{Files: f}, err
	}
	defer dek.Wipe()
	r, err := warehouse.OpenEncrypted(ctx, d.WH.St, f.Root+dataFile, dek)
	if err != nil {
		return &Release{Files: f}, err
	}
	defer r.Close()
	if _, err := io.Copy(w, r); err != nil {
		return &Release{Files: f}, err
	}
	next, err := d.append(ctx, f, KindRelease, "")
	return &Release{Files: f, State: next}, err
}

// Reports copies the approver's view (report.json, report.html) of an
// export to fn, one file at a time.
func (d *Desk) Reports(ctx context.Context, f *Files, fn func(name string, r io.Reader) error) error {
	for _, name := range []string{"report.json", "report.html"} {
		r, err := d.WH.St.Open(ctx, f.Root+name)
		if err != nil {
			return err
		}
		err = fn(name, io.LimitReader(r, 64<<20))
		r.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// Summary is one line of export list.
type Summary struct {
	ID          string    `json:"id"`
	State       string    `json:"state"`
	Justified   bool      `json:"justified_release,omitempty"`
	Project     string    `json:"project"`
	ApprovalRef string    `json:"approval_ref"`
	Workspace   string    `json:"workspace,omitempty"`
	Requester   string    `json:"requester"`
	Created     time.Time `json:"created"`
	Pass        bool      `json:"pass"`
	Approvers   []string  `json:"approvers,omitempty"`
}

// List reads and verifies every export; one whose records do not verify
// is listed in state "forged" (the caller raises the alert).
func (d *Desk) List(ctx context.Context) ([]Summary, error) {
	ids, err := IDs(ctx, d.WH.St)
	if err != nil {
		return nil, err
	}
	var out []Summary
	for _, id := range ids {
		f, err := Load(ctx, d.WH.St, id)
		if err != nil && !errors.Is(err, ErrForged) {
			return nil, err
		}
		sum := Summary{ID: id, State: "forged"}
		if f != nil {
			c := f.Content
			sum = Summary{ID: id, State: "forged", Project: c.Project, ApprovalRef: c.ApprovalRef, Workspace: c.Workspace, Requester: c.Requester, Created: c.Created, Pass: c.Pass}
		}
		if err == nil {
			if st, verr := d.Verify(ctx, f); verr == nil {
				sum.State, sum.Justified, sum.Approvers = st.Status, st.Justified, st.Approvers
			}
		}
		out = append(out, sum)
	}
	return out, nil
}

// Cancel cancels export id for an erasure (the DPO's cancellation entry,
// appended when the chain accepts it) and deletes its data, also when its
// records do not verify (nothing trustworthy says it was released). It
// returns the data object's key and its SHA-256 before deletion; key is
// "" when no data was left.
func (d *Desk) Cancel(ctx context.Context, id, reason string) (key, sum string, err error) {
	f, err := Load(ctx, d.WH.St, id)
	if err != nil && !errors.Is(err, ErrForged) {
		return "", "", err
	}
	if err == nil {
		if _, err := d.append(ctx, f, KindCancel, reason); err != nil && !errors.Is(err, ErrForged) {
			return "", "", err
		}
	}
	key = f.Root + dataFile
	sum, err = sha256Object(ctx, d.WH.St, key)
	if errors.Is(err, objstore.ErrNotExist) {
		return "", "", nil
	}
	if err != nil {
		return key, "", err
	}
	if err := d.WH.St.Delete(ctx, key); err != nil {
		return key, sum, fmt.Errorf("delete the data of export %s: %w", id, err)
	}
	return key, sum, nil
}
