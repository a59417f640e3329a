package main

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"hdw/export"
	"hdw/warehouse"
)

// parquetToCSV writes the release as CSV beside it and returns its rows.
func parquetToCSV(src, dst string) (int, error) {
	f, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, err
	}
	cf, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, err
	}
	cw := csv.NewWriter(cf)
	errStop := errors.New("stop")
	header, err := warehouse.ReadTableAt(f, info.Size(), func(map[string]string) error { return errStop })
	if err != nil && !errors.Is(err, errStop) {
		cf.Close()
		return 0, err
	}
	cw.Write(header)
	n := 0
	_, err = warehouse.ReadTableAt(f, info.Size(), func(m map[string]string) error {
		row := make([]string, len(header))
		for i, c := range header {
			row[i] = m[c]
		}
		n++
		return cw.Write(row)
	})
	cw.Flush()
	if cerr := cf.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// writeFile0600 copies r to path (0600, as every file hdw writes).
func writeFile0600(path string, r io.Reader) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// printExportView prints an export's view for a terminal.
func printExportView(w io.Writer, v export.View) {
	fmt.Fprintf(w, "export %s: %s", v.ID, v.State)
	if v.Justified {
		fmt.Fprint(w, " (justified release of a failed export)")
	}
	fmt.Fprintf(w, "\n  project %s, approval %s", v.Project, v.ApprovalRef)
	if v.Workspace != "" {
		fmt.Fprintf(w, ", workspace %s", v.Workspace)
	}
	fmt.Fprintf(w, "\n  requested by %s at %s, table %s, policy version %d\n", v.Requester, v.Created.Format(time.RFC3339), v.Table, v.PolicyVersion)
	fmt.Fprintf(w, "  columns: %s\n  quasi-identifiers: %s (dictionary: %s)\n", strings.Join(v.Columns, ", "), strings.Join(v.QuasiIdentifiers, ", "), strings.Join(v.DictionaryQIs, ", "))
	var rules []string
	for _, r := range v.Rules {
		s := r.Column + ":" + r.Kind
		if r.Width != 0 {
			s += ":" + strconv.FormatFloat(r.Width, 'g', -1, 64)
		}
		rules = append(rules, s)
	}
	fmt.Fprintf(w, "  rules: %s\n  k=%d l=%d t=%g max suppression %.1f%%; rows %d, persons %d, suppressed %d\n", strings.Join(rules, ", "), v.K, v.L, v.T, v.MaxSuppression*100, v.Rows, v.Persons, v.Suppressed)
	fmt.Fprintln(w, "  checks:")
	for _, m := range v.Measures {
		res := "pass"
		if !m.Pass {
			res = "FAIL"
		}
		fmt.Fprintf(w, "    %-44s %-13s %10.3g  required %-22s %s\n", m.Name, m.Criterion, m.Value, m.Required, res)
	}
	sig := "signatures verified"
	if !v.SignaturesOK {
		sig = "signatures not verified (operator keys not enrolled)"
	}
	fmt.Fprintf(w, "  history (%s):\n", sig)
	for _, s := range v.History {
		fmt.Fprintf(w, "    %d %-8s %s (%s) %s", s.Seq, s.Kind, s.Operator, s.Role, s.Time.Format(time.RFC3339))
		if s.Justification != "" {
			fmt.Fprintf(w, ": %q", s.Justification)
		}
		fmt.Fprintln(w)
	}
}
