package rotation

import (
	"context"
	"fmt"

	"hdw/rights"
)

// Workspaces are re-keyed only when asked (Options.Workspaces): a
// workspace's own pseudonyms are keyed functions of the warehouse
// pseudonyms (pseudo:ws:<project>), so they stay valid for its researchers
// after a rotation; but the workspace index finds a person's rows from the
// current warehouse pseudonym, so a workspace not re-keyed is out of reach
// of rights requests until it is (Result.WorkspacesBehind counts them).
// Re-keying records the old -> new workspace pseudonym notice for the
// owner first (rights.WorkspaceIndex.Notify), then renames each person.

// rekeyWorkspaces moves every workspace to the rotated pseudonyms, from
// the map of the rotation to version to. A person already renamed (an
// interrupted run) is no longer found under the old pseudonym: a rerun
// resumes.
func (r *run) rekeyWorkspaces(ctx context.Context, x rights.WorkspaceIndex) error {
	projects, err := x.Projects(ctx)
	if err != nil {
		return err
	}
	for _, pr := range projects {
		held := map[string]string{}
		if err := ReadMap(ctx, r.wh, r.res.To, func(old, new string) error {
			if _, ok := held[old]; ok {
				return nil
			}
			n, err := x.Find(ctx, pr, []string{old})
			if n > 0 {
				held[old] = new
			}
			return err
		}); err != nil {
			return fmt.Errorf("workspace %s: %w", pr, err)
		}
		if len(held) == 0 {
			continue
		}
		if _, err := x.Notify(ctx, pr, rights.WorkspaceNotice{Kind: "rotation", Request: fmt.Sprintf("key-rotation-v%d", r.res.To), Time: r.opt.Now().UTC(), Renamed: held}); err != nil {
			return fmt.Errorf("record the pseudonym map of workspace %s: %w", pr, err)
		}
		rows := 0
		for old, new := range held {
			n, err := x.Rename(ctx, pr, old, new)
			if err != nil {
				return fmt.Errorf("re-key workspace %s: %w", pr, err)
			}
			rows += n
		}
		r.res.Workspaces++
		r.step("workspace")
		r.event(ctx, "keys.rotate_pseudo.workspace", map[string]string{"project": pr}, map[string]int64{"persons": int64(len(held)), "rows": int64(rows)})
	}
	return nil
}

// workspacesBehind counts the workspaces that hold rows of persons under
// their old pseudonyms (not re-keyed).
func (r *run) workspacesBehind(ctx context.Context, x rights.WorkspaceIndex) (int64, error) {
	projects, err := x.Projects(ctx)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, pr := range projects {
		found := false
		stop := fmt.Errorf("found")
		err := ReadMap(ctx, r.wh, r.res.To, func(old, _ string) error {
			c, err := x.Find(ctx, pr, []string{old})
			if err != nil {
				return err
			}
			if c > 0 {
				found = true
				return stop
			}
			return nil
		})
		if err != nil && err != stop {
			return n, err
		}
		if found {
			n++
		}
	}
	return n, nil
}
