package export

import "time"

// View is the approver's view of one export (issue 21 item 4): who asked,
// when, for which project and approval, which columns under which rules,
// each check with its measured value, suppression, and the decision
// history. report.json and report.html are this view, regenerated at each
// decision.
type View struct {
	ID               string    `json:"id"`
	State            string    `json:"state"`
	Justified        bool      `json:"justified_release,omitempty"`
	SignaturesOK     bool      `json:"signatures_verified"`
	Project          string    `json:"project"`
	ApprovalRef      string    `json:"approval_ref"`
	Workspace        string    `json:"workspace,omitempty"`
	Table            string    `json:"table"`
	Requester        string    `json:"requester"`
	Created          time.Time `json:"created"`
	PolicyVersion    int       `json:"policy_version"`
	Columns          []string  `json:"columns"`
	QuasiIdentifiers []string  `json:"quasi_identifiers"`
	DictionaryQIs    []string  `json:"dictionary_quasi_identifiers"`
	Sensitive        []string  `json:"sensitive"`
	Rules            []Rule    `json:"rules"`
	K                int       `json:"k"`
	L                int       `json:"l"`
	T                float64   `json:"t,omitempty"`
	MaxSuppression   float64   `json:"max_suppression"`
	Pass             bool      `json:"pass"`
	Reasons          []string  `json:"reasons,omitempty"`
	Measures         []Measure `json:"measures"`
	Rows             int64     `json:"rows"`
	Persons          int64     `json:"persons"`
	Suppressed       int64     `json:"suppressed_rows"`
	History          []Step    `json:"history"`
	Report           *Report   `json:"gate"`
	ContentHash      string    `json:"content_hash"`
}

// Step is one entry of the history as shown (no signature bytes).
type Step struct {
	Seq           int       `json:"seq"`
	Kind          string    `json:"kind"`
	Operator      string    `json:"operator"`
	Role          string    `json:"role"`
	Time          time.Time `json:"time"`
	Justification string    `json:"justification,omitempty"`
	Signed        bool      `json:"signed"`
}

// NewView builds the view of an export from its content, history, the
// verified state and the gate's report.
func NewView(c Content, h []Entry, st State, rep *Report) View {
	r := c.Request
	v := View{ID: c.ID, State: st.Status, Justified: st.Justified, SignaturesOK: st.Signed, Project: c.Project, ApprovalRef: c.ApprovalRef,
		Workspace: c.Workspace, Table: c.Table, Requester: c.Requester, Created: c.Created, PolicyVersion: c.PolicyVersion,
		QuasiIdentifiers: r.QuasiIdentifiers, DictionaryQIs: r.DictionaryQIs, Sensitive: r.Sensitive, Rules: r.Rules,
		K: r.K, L: r.L, T: r.T, MaxSuppression: r.MaxSuppression, Pass: c.Pass, Report: rep, ContentHash: c.Hash()}
	if rep != nil {
		v.Columns, v.Reasons, v.Measures = rep.OutputColumns, rep.Reasons, rep.Measures
		if len(rep.ReleasedColumns) > 0 {
			v.Columns = rep.ReleasedColumns
		}
		v.Rows, v.Persons, v.Suppressed = rep.Rows, rep.Persons, rep.Suppressed
	}
	for _, e := range h {
		v.History = append(v.History, Step{Seq: e.Seq, Kind: e.Kind, Operator: e.Operator, Role: e.Role, Time: e.Time, Justification: e.Justification, Signed: len(e.Sig) > 0})
	}
	return v
}
