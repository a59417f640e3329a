package export

import (
	"html/template"
	"io"
	"sort"
)

var page = template.Must(template.New("r").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hdw export report</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}td,th{padding:.2em .6em;text-align:left}
.pass{color:#060}.fail{color:#a00}.bar{background:#468;height:1em;display:inline-block}</style></head><body>
<h1>Export anonymity report</h1>
<p>Verdict: {{if .Pass}}<b class="pass">PASS</b> — pending approval by a manager (SEC-EXP-2){{else}}<b class="fail">FAIL</b> — quarantined, alert raised (SEC-EXP-3){{end}}</p>
{{range .Reasons}}<p class="fail">{{.}}</p>{{end}}
<h2>G29 criteria (SEC-EXP-1)</h2>
<table><tr><th>criterion</th><th>result</th><th>evidence</th></tr>
<tr><td>singling out</td><td>{{if .SinglingOut.Pass}}pass{{else}}fail{{end}}</td><td>{{range .SinglingOut.Evidence}}{{.}}<br>{{end}}</td></tr>
<tr><td>linkability</td><td>{{if .Linkable.Pass}}pass{{else}}fail{{end}}</td><td>{{range .Linkable.Evidence}}{{.}}<br>{{end}}</td></tr>
<tr><td>inference</td><td>{{if .Inference.Pass}}pass{{else}}fail{{end}}</td><td>{{range .Inference.Evidence}}{{.}}<br>{{end}}</td></tr></table>
<h2>Class sizes (persons per equivalence class)</h2>
<table>{{range .Hist}}<tr><td>{{.Bucket}}</td><td>{{.N}}</td><td><span class="bar" style="width:{{.W}}em"></span></td></tr>{{end}}</table>
<h2>Figures</h2><table>
<tr><td>rows / persons / classes</td><td>{{.Rows}} / {{.Persons}} / {{.Classes}}</td></tr>
<tr><td>smallest class (k)</td><td>{{.SmallestClass}} (required {{.Request.K}})</td></tr>
<tr><td>suppressed rows</td><td>{{.Suppressed}}</td></tr>
<tr><td>distinct / entropy l</td><td>{{.DistinctL}} / {{printf "%.2f" .EntropyL}} (required {{.Request.L}})</td></tr>
<tr><td>prosecutor risk max / avg</td><td>{{printf "%.3f" .RiskMax}} / {{printf "%.3f" .RiskAvg}}</td></tr>
<tr><td>released columns</td><td>{{range .OutputColumns}}{{.}} {{end}}</td></tr></table>
</body></html>`))

type histRow struct {
	Bucket string
	N      int
	W      int
}

// WriteHTML writes the human-readable report with the class-size histogram.
func WriteHTML(w io.Writer, rep *Report) error {
	order := []string{"1", "2-4", "5-9", "10-19", "20-49", "50-99", "100+"}
	max := 1
	for _, n := range rep.Histogram {
		if n > max {
			max = n
		}
	}
	var h []histRow
	for _, b := range order {
		if n, ok := rep.Histogram[b]; ok {
			h = append(h, histRow{b, n, 1 + 30*n/max})
		}
	}
	sort.SliceStable(h, func(i, j int) bool { return false })
	return page.Execute(w, struct {
		*Report
		Hist []histRow
	}{rep, h})
}
