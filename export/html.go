package export

import (
	"html/template"
	"io"
)

var page = template.Must(template.New("r").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hdw export report {{.ID}}</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}td,th{padding:.2em .6em;text-align:left}
.pass{color:#060}.fail{color:#a00}.bar{background:#468;height:1em;display:inline-block}</style></head><body>
<h1>Export {{.ID}}: {{.State}}</h1>
<table>
<tr><td>project / approval</td><td>{{.Project}} / {{.ApprovalRef}}{{if .Workspace}} (workspace {{.Workspace}}){{end}}</td></tr>
<tr><td>requested by</td><td>{{.Requester}}, {{.Created.Format "2006-01-02 15:04:05 UTC"}}</td></tr>
<tr><td>table / columns</td><td>{{.Table}}: {{range .Columns}}{{.}} {{end}}</td></tr>
<tr><td>quasi-identifiers</td><td>{{range .QuasiIdentifiers}}{{.}} {{end}} (dictionary: {{range .DictionaryQIs}}{{.}} {{end}})</td></tr>
<tr><td>rules</td><td>{{range .Rules}}{{.Column}}:{{.Kind}}{{if .Width}}:{{.Width}}{{end}} {{end}}</td></tr>
<tr><td>policy version / content hash</td><td>{{.PolicyVersion}} / {{.ContentHash}}</td></tr>
<tr><td>signatures</td><td>{{if .SignaturesOK}}verified{{else}}not verified (operator keys not enrolled){{end}}</td></tr>
</table>
<p>Verdict: {{if .Pass}}<b class="pass">PASS</b>{{else}}<b class="fail">FAIL</b> — quarantined, alert raised (SEC-EXP-3){{if .Justified}}; <b class="fail">released on justification</b>{{end}}{{end}}</p>
{{range .Reasons}}<p class="fail">{{.}}</p>{{end}}
<h2>Checks (SEC-EXP-1)</h2>
<table><tr><th>measure</th><th>G29 criterion</th><th>value</th><th>required</th><th>result</th></tr>
{{range .Measures}}<tr><td>{{.Name}}</td><td>{{.Criterion}}</td><td>{{printf "%.3g" .Value}}</td><td>{{.Required}}</td><td>{{if .Pass}}pass{{else}}<b class="fail">fail</b>{{end}}</td></tr>{{end}}</table>
{{with .Report}}
<h2>G29 criteria</h2>
<table><tr><th>criterion</th><th>result</th><th>evidence</th></tr>
<tr><td>singling out</td><td>{{if .SinglingOut.Pass}}pass{{else}}fail{{end}}</td><td>{{range .SinglingOut.Evidence}}{{.}}<br>{{end}}</td></tr>
<tr><td>linkability</td><td>{{if .Linkable.Pass}}pass{{else}}fail{{end}}</td><td>{{range .Linkable.Evidence}}{{.}}<br>{{end}}</td></tr>
<tr><td>inference</td><td>{{if .Inference.Pass}}pass{{else}}fail{{end}}</td><td>{{range .Inference.Evidence}}{{.}}<br>{{end}}</td></tr></table>
{{end}}
<h2>Class sizes (persons per equivalence class)</h2>
<table>{{range .Hist}}<tr><td>{{.Bucket}}</td><td>{{.N}}</td><td><span class="bar" style="width:{{.W}}em"></span></td></tr>{{end}}</table>
<h2>Figures</h2><table>
<tr><td>rows / persons</td><td>{{.Rows}} / {{.Persons}}</td></tr>
<tr><td>suppressed rows</td><td>{{.Suppressed}} (limit {{printf "%.1f" .MaxPct}}%)</td></tr>
<tr><td>k / l / t</td><td>{{.K}} / {{.L}} / {{.T}}</td></tr></table>
<h2>Decision history</h2>
<table><tr><th>#</th><th>step</th><th>operator</th><th>role</th><th>time</th><th>justification</th></tr>
{{range .History}}<tr><td>{{.Seq}}</td><td>{{.Kind}}</td><td>{{.Operator}}</td><td>{{.Role}}</td><td>{{.Time.Format "2006-01-02 15:04:05"}}</td><td>{{.Justification}}</td></tr>{{end}}</table>
</body></html>`))

type histRow struct {
	Bucket string
	N      int
	W      int
}

// WriteHTML writes the human-readable view with the class-size histogram.
func WriteHTML(w io.Writer, v View) error {
	order := []string{"1", "2-4", "5-9", "10-19", "20-49", "50-99", "100+"}
	var h []histRow
	if v.Report != nil {
		max := 1
		for _, n := range v.Report.Histogram {
			max = maxInt(max, n)
		}
		for _, b := range order {
			if n, ok := v.Report.Histogram[b]; ok {
				h = append(h, histRow{b, n, 1 + 30*n/max})
			}
		}
	}
	return page.Execute(w, struct {
		View
		Hist   []histRow
		MaxPct float64
	}{v, h, v.MaxSuppression * 100})
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}
