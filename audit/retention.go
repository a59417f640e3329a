package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"hdw/objstore"
)

// Bounds of the audit retention (SEC-DAY-4: six to twelve months).
const (
	MinKeep = 180 * 24 * time.Hour
	MaxKeep = 366 * 24 * time.Hour
)

// Retention deletes the sessions whose last segment was written before
// now-keep (SEC-DAY-4), oldest first, stopping at the first younger one so
// that the heads left stay contiguous; the newest session is always kept,
// so that new sessions still link to a head. Before deleting anything it
// writes a sealed checkpoint (audit/retention/<floor>) that lets [Verify]
// tell retention from deletion. It returns the ids of the sessions removed
// (or to remove, with dryRun). keep outside [MinKeep, MaxKeep] is an
// error. The caller audits the deletion (a "retention.apply" event).
func Retention(ctx context.Context, st objstore.Store, mac MAC, now time.Time, keep time.Duration, dryRun bool) ([]string, error) {
	if keep < MinKeep || keep > MaxKeep {
		return nil, fmt.Errorf("audit: retention must be between 6 and 12 months (SEC-DAY-4)")
	}
	cut := now.Add(-keep)
	ls, err := list(ctx, st)
	if err != nil {
		return nil, err
	}
	cur, err := currentFloor(ctx, st, mac, ls)
	if err != nil {
		return nil, err
	}
	nums := make([]int64, 0, len(ls.heads))
	for n := range ls.heads {
		if n >= cur {
			nums = append(nums, n)
		}
	}
	sort.Slice(nums, func(i, j int) bool { return nums[i] < nums[j] })
	var (
		ids      []string
		floor    int64 = -1
		prevHead []byte
	)
	for i, n := range nums {
		if i == len(nums)-1 {
			break // keep the newest session
		}
		data, err := readObject(ctx, st, ls.heads[n])
		if err != nil {
			return nil, err
		}
		var h headRecord
		if _, _, err := parseSealed(data, &h); err != nil {
			break // a damaged head stays for the verifier
		}
		last, ok, err := lastWritten(ctx, st, ls.parts[h.Segment])
		if err != nil {
			return nil, err
		}
		if !ok || !last.Before(cut) {
			break
		}
		ids = append(ids, h.Segment)
		floor, prevHead = n+1, data
	}
	if len(ids) == 0 || dryRun {
		return ids, nil
	}
	line, _ := json.Marshal(checkpoint{Floor: floor, Prev: digest(prevHead), Sessions: ids, Time: now.UTC().Format(TimeFormat)})
	data, err := sealObject(ctx, mac, line)
	if err != nil {
		return nil, err
	}
	if err := putOnce(ctx, st, retentionPrefix+fmt.Sprintf("%0*d", headNumberDigits, floor), data, "", time.Time{}, false); err != nil {
		return nil, fmt.Errorf("audit: write retention checkpoint: %w", err)
	}
	for n := range ls.heads {
		if n >= floor {
			continue
		}
		var h headRecord
		b, err := readObject(ctx, st, ls.heads[n])
		if err != nil {
			return ids, err
		}
		if _, _, err := parseSealed(b, &h); err == nil {
			for _, k := range ls.parts[h.Segment] {
				if err := st.Delete(ctx, k); err != nil {
					return ids, fmt.Errorf("audit: delete segment: %w", err)
				}
			}
		}
		if err := st.Delete(ctx, ls.heads[n]); err != nil {
			return ids, fmt.Errorf("audit: delete head: %w", err)
		}
	}
	return ids, nil
}

// lastWritten returns the write time of the last part of a session.
func lastWritten(ctx context.Context, st objstore.Store, parts map[int]string) (time.Time, bool, error) {
	last := -1
	for p := range parts {
		last = max(last, p)
	}
	if last < 0 {
		return time.Time{}, false, nil
	}
	data, err := readObject(ctx, st, parts[last])
	if err != nil {
		return time.Time{}, false, err
	}
	p, err := ParsePart(data)
	if err != nil && p.Header.Written == "" {
		return time.Time{}, false, nil
	}
	t, err := time.Parse(TimeFormat, p.Header.Written)
	return t, err == nil, nil
}

// currentFloor returns the highest floor of the checkpoints whose seal
// verifies (0 when none).
func currentFloor(ctx context.Context, st objstore.Store, mac MAC, ls listing) (int64, error) {
	var floor int64
	for _, k := range ls.checkpoints {
		var cp checkpoint
		_, ok, perr, err := readSealed(ctx, st, mac, k, &cp)
		if err != nil {
			return 0, err
		}
		if perr == nil && ok && cp.Floor > floor {
			floor = cp.Floor
		}
	}
	return floor, nil
}
