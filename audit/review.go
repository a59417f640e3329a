package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"hdw/objstore"
)

// ReviewRules tune the review (SEC-DAY-3).
type ReviewRules struct {
	WorkStart, WorkEnd int           // working hours, UTC (e.g. 7 and 20)
	PullBurst          int           // workspace pulls by one operator within BurstWindow
	BurstWindow        time.Duration // default 1h
}

// Anomaly is one event (or group) worth a human look.
type Anomaly struct {
	Kind     string    `json:"kind"` // reidentification, refused, alert, quarantine, off-hours, pull-burst, key-operation, trail
	Time     time.Time `json:"time"`
	Operator string    `json:"operator"`
	Profile  string    `json:"profile"`
	Command  string    `json:"command"`
	Action   string    `json:"action"`
	Detail   string    `json:"detail"`
}

// Review verifies the trail and lists the anomalies since a date.
func Review(ctx context.Context, st objstore.Store, mac MAC, since time.Time, rules ReviewRules) ([]Anomaly, Report, error) {
	if rules.WorkEnd == 0 {
		rules.WorkStart, rules.WorkEnd = 7, 20
	}
	if rules.PullBurst == 0 {
		rules.PullBurst = 10
	}
	if rules.BurstWindow == 0 {
		rules.BurstWindow = time.Hour
	}
	rep, segs, err := Verify(ctx, st, mac)
	if err != nil {
		return nil, rep, err
	}
	var out []Anomaly
	for _, p := range rep.Problems {
		out = append(out, Anomaly{Kind: "trail", Detail: fmt.Sprintf("%s: %s (segment %s line %d)", p.Kind, p.Detail, p.Segment, p.Line)})
	}
	pulls := map[string][]time.Time{}
	for _, s := range segs {
		for _, e := range s.Events {
			if e.Time.Before(since) {
				continue
			}
			a := Anomaly{Time: e.Time, Operator: e.Operator, Profile: e.Profile, Command: e.Command, Action: e.Action}
			switch {
			case strings.Contains(e.Action, "reidentif") || strings.HasPrefix(e.Command, "reidentify"):
				a.Kind, a.Detail = "reidentification", "re-identification (SEC-REI): check the request reference "+e.Target["request"]
			case e.Outcome == "denied":
				a.Kind, a.Detail = "refused", "refused access"
			case e.Outcome == "alert":
				a.Kind, a.Detail = "alert", "alert raised"
			case e.Outcome == "quarantined" || strings.Contains(e.Action, "quarantine"):
				a.Kind, a.Detail = "quarantine", "quarantined export"
			case strings.HasPrefix(e.Action, "keys.") || strings.HasPrefix(e.Command, "keys") || strings.HasPrefix(e.Command, "vault"):
				a.Kind, a.Detail = "key-operation", "key operation"
			}
			if a.Kind != "" {
				out = append(out, a)
			}
			if h := e.Time.UTC().Hour(); h < rules.WorkStart || h >= rules.WorkEnd {
				b := a
				b.Kind, b.Detail = "off-hours", fmt.Sprintf("activity at %02d:%02d UTC, outside %02d-%02d", h, e.Time.UTC().Minute(), rules.WorkStart, rules.WorkEnd)
				out = append(out, b)
			}
			if strings.Contains(e.Action, "pull") {
				pulls[e.Operator] = append(pulls[e.Operator], e.Time)
			}
		}
	}
	for op, ts := range pulls {
		sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
		for i := range ts {
			j := i
			for j < len(ts) && ts[j].Sub(ts[i]) <= rules.BurstWindow {
				j++
			}
			if j-i >= rules.PullBurst {
				out = append(out, Anomaly{Kind: "pull-burst", Time: ts[i], Operator: op, Action: "workspace.pull",
					Detail: fmt.Sprintf("%d workspace pulls within %s", j-i, rules.BurstWindow)})
				break
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, rep, nil
}

// Retention deletes closed segments (and their opening events) older than
// keep (SEC-DAY-4: between 6 and 12 months). It returns the ids removed.
func Retention(ctx context.Context, st objstore.Store, now time.Time, keep time.Duration, dryRun bool) ([]string, error) {
	if keep < 180*24*time.Hour || keep > 366*24*time.Hour {
		return nil, fmt.Errorf("audit retention must be between 6 and 12 months (SEC-DAY-4)")
	}
	cut := now.Add(-keep).UTC()
	var gone []string
	var cp checkpoint
	for info, err := range st.List(ctx, "audit/segments/") {
		if err != nil {
			return gone, err
		}
		id := strings.TrimSuffix(strings.TrimPrefix(info.Key, "audit/segments/"), ".jsonl")
		if len(id) < 20 {
			continue
		}
		t, err := time.Parse("20060102T150405.000Z", id[:20])
		if err != nil || !t.Before(cut) {
			continue
		}
		gone = append(gone, id)
		if !dryRun {
			r, err := st.Open(ctx, info.Key)
			if err != nil {
				return gone, err
			}
			h := sha256.New()
			io.Copy(h, io.LimitReader(r, 256<<20))
			r.Close()
			cp.Digests = append(cp.Digests, hex.EncodeToString(h.Sum(nil)))
			cp.IDs = append(cp.IDs, id)
			if err := st.Delete(ctx, info.Key); err != nil {
				return gone, err
			}
			st.Delete(ctx, "audit/open/"+id+".json")
		}
	}
	if !dryRun && len(cp.IDs) > 0 {
		// The checkpoint lets Verify tell retention from deletion.
		data, _ := json.Marshal(cp)
		if err := st.PutIfAbsent(ctx, "audit/retention/"+newID(now)+".json", bytes.NewReader(data)); err != nil {
			return gone, err
		}
	}
	return gone, nil
}

// checkpoint records the segments removed by retention.
type checkpoint struct {
	IDs     []string `json:"ids"`
	Digests []string `json:"digests"`
}
