package rights

import "context"

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
}

// ObjectsProof is what an erasure changed in one area (a workspace).
type ObjectsProof struct {
	Rows    int           `json:"rows"`
	Objects []ObjectProof `json:"objects"`
}
