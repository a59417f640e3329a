package rotation

import (
	"context"
	"errors"
	"fmt"

	"hdw/rights"
)

// Workspaces are re-keyed only when asked (Options.RekeyWorkspaces): a
// workspace's own pseudonyms are keyed functions of the warehouse
// pseudonyms (pseudo:ws:<project>), so they stay valid for its researchers
// after a rotation; but the workspace index finds a person's rows from the
// current warehouse pseudonym, so a workspace not re-keyed is out of reach
// of rights requests until it is (Result.WorkspacesBehind counts them).
// Re-keying records the old -> new workspace pseudonym notice for the
// owner first (rights.WorkspaceIndex.Notify), then renames each person.
//
// The persons a workspace holds are found from the map, findChunk old
// pseudonyms per look-up (one read of the workspace each), a chunk that
// holds some being halved until each person is found: a workspace of k
// persons among n costs about n/findChunk + k·log2(findChunk) look-ups.

// findChunk is how many old pseudonyms one workspace look-up tests.
const findChunk = 1 << 15

// heldInMap calls fn with every old -> new pair of the rotation's map
// whose person the workspace holds rows of; with first, it only tells
// whether there is one (fn called once, with empty pseudonyms).
func (r *run) heldInMap(ctx context.Context, x rights.WorkspaceIndex, project string, first bool, fn func(old, new string)) error {
	stop := errors.New("stop")
	var chunk []string
	pairs := map[string]string{}
	var split func([]string) error
	split = func(ps []string) error {
		n, err := x.Find(ctx, project, ps)
		if err != nil || n == 0 {
			return err
		}
		if first {
			fn("", "") // one is enough: which one does not matter
			return stop
		}
		if len(ps) == 1 {
			fn(ps[0], pairs[ps[0]])
			return nil
		}
		if err := split(ps[:len(ps)/2]); err != nil {
			return err
		}
		return split(ps[len(ps)/2:])
	}
	flush := func() error {
		err := split(chunk)
		chunk = chunk[:0]
		clear(pairs)
		return err
	}
	err := ReadMap(ctx, r.wh, r.res.To, func(old, new string) error {
		if _, ok := pairs[old]; ok {
			return nil
		}
		pairs[old] = new
		chunk = append(chunk, old)
		if len(chunk) < findChunk {
			return nil
		}
		return flush()
	})
	if err == nil && len(chunk) > 0 {
		err = flush()
	}
	if errors.Is(err, stop) {
		return nil
	}
	return err
}

// rekeyWorkspaces moves every workspace to the rotated pseudonyms. A
// person already renamed (an interrupted run) is no longer found under the
// old pseudonym: a rerun resumes.
func (r *run) rekeyWorkspaces(ctx context.Context, x rights.WorkspaceIndex) error {
	projects, err := x.Projects(ctx)
	if err != nil {
		return err
	}
	for _, pr := range projects {
		held := map[string]string{}
		if err := r.heldInMap(ctx, x, pr, false, func(old, new string) { held[old] = new }); err != nil {
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

// workspacesBehind counts the workspaces that hold rows under the old
// pseudonyms (not re-keyed).
func (r *run) workspacesBehind(ctx context.Context, x rights.WorkspaceIndex) (int64, error) {
	projects, err := x.Projects(ctx)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, pr := range projects {
		found := false
		if err := r.heldInMap(ctx, x, pr, true, func(string, string) { found = true }); err != nil {
			return n, err
		}
		if found {
			n++
		}
	}
	return n, nil
}
