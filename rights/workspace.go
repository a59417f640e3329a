package rights

import (
	"context"
	"time"
)

// WorkspaceIndex is what rights needs from the workspaces (package
// workspaces, layout workspaces/<project>/...). Persons are named by their
// warehouse pseudonyms; the index maps them to the workspace's own
// pseudonyms (HMAC of the pseudo:ws:<project> or pseudo:cohort:<name> key).
// Implementations must never return or log identifying values.
type WorkspaceIndex interface {
	// Projects lists the workspaces.
	Projects(ctx context.Context) ([]string, error)
	// Find returns how many rows of the workspace belong to the person.
	Find(ctx context.Context, project string, pseudonyms []string) (int, error)
	// Erase removes the person's rows and objects from the workspace,
	// re-seals its manifest and returns what was removed.
	Erase(ctx context.Context, project string, pseudonyms []string) (ObjectsProof, error)
	// Resolve maps a workspace pseudonym back to the warehouse pseudonym
	// among candidates; "" when none matches.
	Resolve(ctx context.Context, project, wsPseudonym string, candidates []string) (string, error)
	// Rename re-pseudonymizes a person in the workspace after a
	// rectification of their pseudonym basis; it returns the rows changed.
	Rename(ctx context.Context, project, oldPseudonym, newPseudonym string) (int, error)
	// Notify records a notice for the workspace's owner (its researcher
	// profile and the curator), readable with the workspace key only:
	// after an erasure, the workspace pseudonyms whose rows they delete
	// from copies already pulled; after a rectification, the old -> new
	// workspace pseudonym map that updates those copies (issue 21). The
	// notice names persons by workspace pseudonyms only, never by
	// identity or warehouse pseudonym.
	Notify(ctx context.Context, project string, n WorkspaceNotice) (NoticeRef, error)
}

// ObjectsProof is what an erasure changed in one area (a workspace).
type ObjectsProof struct {
	Rows    int           `json:"rows"`
	Objects []ObjectProof `json:"objects"`
}

// WorkspaceNotice is what [WorkspaceIndex.Notify] records, in warehouse
// pseudonyms (the index writes the workspace's own).
type WorkspaceNotice struct {
	Kind    string    // erasure, opposition or rectification
	Request string    // the DPO's request reference
	Time    time.Time // when the warehouse acted
	// Erased are the person's warehouse pseudonyms held by the workspace
	// (erasure, opposition).
	Erased []string
	// Renamed maps old to new warehouse pseudonyms (rectification).
	Renamed map[string]string
}

// NoticeRef names a recorded workspace notice, for the deletion proof and
// the rectification report. It holds no pseudonym.
type NoticeRef struct {
	Project string `json:"project"`
	ID      string `json:"id"`
	Key     string `json:"key"`
	Kind    string `json:"kind"`
	// Pseudonyms is the number of workspace pseudonyms the notice names.
	Pseudonyms int `json:"pseudonyms"`
}

// heldBy returns the pseudonyms of ps that the workspace holds rows of,
// known to hold some: one pseudonym needs no further look.
func heldBy(ctx context.Context, x WorkspaceIndex, project string, ps []string) ([]string, error) {
	if len(ps) == 1 {
		return ps, nil
	}
	var out []string
	for _, p := range ps {
		n, err := x.Find(ctx, project, []string{p})
		if err != nil {
			return nil, err
		}
		if n > 0 {
			out = append(out, p)
		}
	}
	return out, nil
}
