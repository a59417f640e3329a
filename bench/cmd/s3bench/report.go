// The figures of a run: the summary table, the spreads, the per-run fixed
// costs.

package main

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// printTable prints every corpus's best figures and the ratios of issue 24.
func printTable(rs []corpusResult, o options) {
	fmt.Printf("\n== summary (best of %d; W=%d; MB/s, objects/s, CPU s, cores, peak RSS MiB)\n", o.runs, o.workers)
	fmt.Printf("%-11s %5s %6s | %-30s | %-30s | %-30s | %-30s | %7s %7s %6s\n", "corpus", "objs", "MB",
		"plain download", "download to disk", "hdw -> disk warehouse", "hdw -> S3 warehouse", "disk/dl", "S3/disk", "ratio")
	cell := func(r corpusResult, m measured) string {
		if m.wall == 0 {
			return "-"
		}
		return fmt.Sprintf("%5.0f %6.1f %5.1f %4.2f %4d", float64(r.bytes)/1e6/m.wall, float64(r.objs)/m.wall, m.cpu, m.cores(), m.rssKB>>10)
	}
	for _, r := range rs {
		for _, label := range []string{"", "before"} {
			hr := r.hdw[label]
			if hr == nil {
				continue
			}
			d, _ := bestOf(hr.disk)
			s3, hasS3 := bestOf(hr.s3)
			s3ratio := "-"
			if hasS3 {
				s3ratio = fmt.Sprintf("%.0f%%", 100*d.wall/s3.wall)
			}
			fmt.Printf("%-11s %5d %6.0f | %-30s | %-30s | %-30s | %-30s | %6.0f%% %7s %5.0f%%\n", strings.TrimSpace(r.name+" "+label), r.objs, float64(r.bytes)/1e6,
				cell(r, r.dl), cell(r, r.disk), cell(r, d.measured), cell(r, s3.measured), 100*r.disk.wall/r.dl.wall, s3ratio, 100*r.disk.wall/d.wall)
		}
	}
	fmt.Printf("  ratio = hdw into a disk warehouse / download to disk (goal: >= 85%% on ct and multiframe, >= 40%% mixed); S3/disk = hdw into S3 / into disk (goal >= 80%%)\n")
	fmt.Printf("  spreads (wall s, min-max):\n")
	for _, r := range rs {
		fmt.Printf("    %s: download %s, to disk %s", r.name, spread(r.dlWalls), spread(r.diskWalls))
		for _, label := range []string{"", "before"} {
			if hr := r.hdw[label]; hr != nil {
				fmt.Printf(", %s disk %s, S3 %s", cmp.Or(label, "hdw"), spread(walls(hr.disk)), spread(walls(hr.s3)))
			}
		}
		fmt.Println()
	}
	var any bool
	for _, r := range rs {
		any = any || r.hasSplit
	}
	if !any {
		return
	}
	fmt.Printf("\n== profile split of hdw into a disk warehouse (rows S3: into an S3 warehouse) (%% of the process's CPU samples; profile.go's stages)\n")
	fmt.Printf("%-11s %6s", "corpus", "CPU s")
	for _, n := range stageNames() {
		fmt.Printf(" %*s", max(len(n), 4), n)
	}
	fmt.Println()
	row := func(name string, sp split) {
		fmt.Printf("%-11s %6.1f", name, sp.total)
		for _, n := range stageNames() {
			fmt.Printf(" %*.0f%%", max(len(n), 4)-1, 100*sp.by[n]/max(sp.total, 1e-9))
		}
		fmt.Println()
	}
	for _, r := range rs {
		if r.hasSplit {
			row(r.name, r.split)
		}
	}
	for _, r := range rs {
		if r.hasSplitS3 {
			row(r.name+" S3", r.splitS3)
		}
	}
}

func bestOf(rs []ingestResult) (ingestResult, bool) {
	if len(rs) == 0 {
		return ingestResult{}, false
	}
	return slices.MinFunc(rs, func(a, b ingestResult) int { return cmp.Compare(a.wall, b.wall) }), true
}

func walls(rs []ingestResult) []float64 {
	var w []float64
	for _, r := range rs {
		w = append(w, r.wall)
	}
	return w
}

func spread(v []float64) string {
	if len(v) < 2 {
		return "one run"
	}
	lo, hi := slices.Min(v), slices.Max(v)
	return fmt.Sprintf("%.3f-%.3f s, +%.0f%%", lo, hi, 100*(hi-lo)/lo)
}

// fixed is the part of an ingest's wall time outside pipeline.Ingest: the
// process's start, the session (warehouse descriptor, policy, keyring
// unlock or Vault login, which the source's listing now overlaps) and the
// closing audit event (issue 24 item 6: paid once per run, reported apart
// so that small runs are not misjudged).
func (r ingestResult) fixed() float64 { return max(0, r.wall-r.sum.Seconds) }

// fixed describes a profiled run's fixed costs: the keyring unlock's CPU
// (argon2id) from the profile, and the wall time outside the pipeline.
func (s split) fixed(r ingestResult) string {
	return fmt.Sprintf("keyring unlock %.2f s CPU (argon2id); wall outside the pipeline %.3f s of %.3f s (process, session, closing audit)%s",
		s.by["keyring unlock"], r.fixed(), r.wall, r.warm())
}

// warm says what the warm start downloaded during the fixed costs (issue
// 24 item 6): the bytes ready when the session opened, and the objects and
// bytes the workers then read from memory; "" for a binary without one.
func (r ingestResult) warm() string {
	if r.sum.WarmObjects == 0 {
		return ""
	}
	return fmt.Sprintf("; warm start %.1f MB downloaded while the session opened, %d objects (%.1f MB) read from memory",
		float64(r.sum.WarmReadyBytes)/1e6, r.sum.WarmObjects, float64(r.sum.WarmBytes)/1e6)
}
