// Command trace writes docs/TRACEABILITY.md from the code (`make trace`):
// for every requirement of the reference (catalog.go), the files that cite
// it in comments (`SEC-EXP-1`, `SRS-091`, `ENS OP.ACC.1`, `SWR-009`,
// `SP-050-003`, `CNIL 9.4` or `§9.4`) and the tests whose names carry it
// (`TestSEC_EXP_1_...`, `SRS_091`, `OP_ACC_1`, `SWR_009`, `SP_050_003`,
// `CNIL_9_4`). With -check it writes nothing and fails when the committed
// matrix is stale or a requirement cited in code is named by no test.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

const out = "docs/TRACEABILITY.md"

func srsID(n int) string { return fmt.Sprintf("SRS-%03d", n) }

func main() {
	check := flag.Bool("check", false, "compare with the committed matrix instead of writing it")
	root := flag.String("root", ".", "the repository")
	flag.Parse()
	m, err := scan(os.DirFS(*root))
	if err != nil {
		fmt.Fprintln(os.Stderr, "trace:", err)
		os.Exit(1)
	}
	doc := m.markdown()
	if *check {
		old, _ := os.ReadFile(filepath.Join(*root, out))
		probs := m.problems()
		if !bytes.Equal(old, doc) {
			probs = append(probs, out+" is stale: run make trace")
		}
		for _, p := range probs {
			fmt.Fprintln(os.Stderr, "trace:", p)
		}
		if len(probs) > 0 {
			os.Exit(1)
		}
		return
	}
	if err := os.WriteFile(filepath.Join(*root, out), doc, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "trace:", err)
		os.Exit(1)
	}
}

// Matrix maps each requirement to the files citing it and the tests naming it.
type Matrix struct {
	files map[string]map[string]bool // id -> file
	tests map[string]map[string]bool // id -> "file: TestName"
}

var (
	// comment spellings; SEC-REI-1..5 and "SEC-HAB-5, -6" cite ranges
	secRe  = regexp.MustCompile(`SEC-([A-Z]{3})-(\d+)((?:\.\.\d+)|(?:,\s*-\d+)+)?`)
	srsRe  = regexp.MustCompile(`SRS-(\d{3})(\.\.(\d{3}))?`)
	otherR = regexp.MustCompile(`ENS OP\.ACC\.1\b|OP\.ACC\.1\b|SWR-009|SP-050-003`)
	secnRe = regexp.MustCompile(`(?:CNIL(?: 2021-118)?\s*§?\s*|§\s?)(\d+(?:\.\d+)+)((?:\s*,\s*§?\s?\d+(?:\.\d+)+)*)`)
	numRe  = regexp.MustCompile(`\d+(?:\.\d+)+`)
	// test-name spellings
	testFn  = regexp.MustCompile(`(?m)^func ((?:Test|Fuzz|Example|Benchmark)\w*)\(`)
	tSEC    = regexp.MustCompile(`SEC_([A-Z]{3})_(\d+)`)
	tSRS    = regexp.MustCompile(`SRS_(\d{3})`)
	tSecn   = regexp.MustCompile(`CNIL_(\d+(?:_\d+)*)`)
	tOthers = map[string]string{"OP_ACC_1": "ENS OP.ACC.1", "SWR_009": "SWR-009", "SP_050_003": "SP-050-003"}
)

func known() map[string]bool {
	k := map[string]bool{}
	for _, r := range catalog {
		k[r.ID] = true
	}
	return k
}

// cited returns the requirement ids a text cites (comment spelling).
func cited(text string) []string {
	var ids []string
	for _, m := range secRe.FindAllStringSubmatch(text, -1) {
		n, _ := strconv.Atoi(m[2])
		ids = append(ids, fmt.Sprintf("SEC-%s-%d", m[1], n))
		switch {
		case strings.HasPrefix(m[3], ".."):
			end, _ := strconv.Atoi(m[3][2:])
			for i := n + 1; i <= end && i < n+20; i++ {
				ids = append(ids, fmt.Sprintf("SEC-%s-%d", m[1], i))
			}
		case m[3] != "":
			for _, p := range strings.Split(m[3], ",")[1:] {
				i, _ := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(p), "-")))
				ids = append(ids, fmt.Sprintf("SEC-%s-%d", m[1], i))
			}
		}
	}
	for _, m := range srsRe.FindAllStringSubmatch(text, -1) {
		n, _ := strconv.Atoi(m[1])
		end := n
		if m[3] != "" {
			end, _ = strconv.Atoi(m[3])
		}
		for i := n; i <= end && i < n+100; i++ {
			ids = append(ids, srsID(i))
		}
	}
	for _, m := range otherR.FindAllString(text, -1) {
		if strings.HasSuffix(m, "OP.ACC.1") {
			m = "ENS OP.ACC.1"
		}
		ids = append(ids, m)
	}
	for _, m := range secnRe.FindAllStringSubmatch(text, -1) {
		ids = append(ids, "CNIL "+m[1])
		for _, n := range numRe.FindAllString(m[2], -1) {
			ids = append(ids, "CNIL "+n)
		}
	}
	return ids
}

// named returns the requirement ids a test name carries.
func named(name string, k map[string]bool) []string {
	var ids []string
	for _, m := range tSEC.FindAllStringSubmatch(name, -1) {
		n, _ := strconv.Atoi(m[2])
		ids = append(ids, fmt.Sprintf("SEC-%s-%d", m[1], n))
	}
	for _, m := range tSRS.FindAllStringSubmatch(name, -1) {
		ids = append(ids, "SRS-"+m[1])
	}
	for t, id := range tOthers {
		if strings.Contains(name, t) {
			ids = append(ids, id)
		}
	}
	for _, m := range tSecn.FindAllStringSubmatch(name, -1) {
		parts := strings.Split(m[1], "_")
		for i := len(parts); i >= 2; i-- { // the longest section of the catalog
			if id := "CNIL " + strings.Join(parts[:i], "."); k[id] {
				ids = append(ids, id)
				break
			}
		}
	}
	return ids
}

func scan(fsys fs.FS) (*Matrix, error) {
	m := &Matrix{files: map[string]map[string]bool{}, tests: map[string]map[string]bool{}}
	k := known()
	add := func(set map[string]map[string]bool, id, v string) {
		if set[id] == nil {
			set[id] = map[string]bool{}
		}
		set[id][v] = true
	}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != "." && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || p == "internal/trace") {
				return fs.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		if strings.HasSuffix(p, "_test.go") {
			for _, f := range testFn.FindAllStringSubmatch(string(b), -1) {
				for _, id := range named(f[1], k) {
					add(m.tests, id, p+": "+f[1])
				}
			}
			return nil
		}
		for _, id := range cited(string(b)) {
			add(m.files, id, p)
		}
		return nil
	})
	return m, err
}

func keysOf[V any](s map[string]V) []string { return slices.Sorted(maps.Keys(s)) }

// problems lists the requirements cited in code that no test names, and
// the ids cited that the reference does not have.
func (m *Matrix) problems() []string {
	var out []string
	k := known()
	soft := map[string]bool{}
	for _, r := range catalog {
		soft[r.ID] = r.NotSoftware == ""
	}
	for _, id := range keysOf(m.files) {
		if !k[id] {
			out = append(out, fmt.Sprintf("%s is cited in %s but is not a requirement of the reference (internal/trace/catalog.go): fix the citation",
				id, strings.Join(keysOf(m.files[id]), ", ")))
			continue
		}
		if len(m.tests[id]) == 0 && soft[id] && pending[id] == "" {
			out = append(out, fmt.Sprintf("%s is cited in %s but no test names it: name the test that shows it %s",
				id, strings.Join(keysOf(m.files[id]), ", "), testSpelling(id)))
		}
	}
	for _, id := range keysOf(pending) {
		if len(m.tests[id]) > 0 || len(m.files[id]) == 0 {
			out = append(out, fmt.Sprintf("%s is no longer a pending gap (a test names it, or no code cites it): remove it from pending in internal/trace/catalog.go", id))
		}
	}
	for _, id := range keysOf(m.tests) {
		if !k[id] {
			out = append(out, fmt.Sprintf("%s is named by %s but is not a requirement of the reference", id, strings.Join(keysOf(m.tests[id]), ", ")))
		}
	}
	return out
}

// testSpelling returns how a test name carries id.
func testSpelling(id string) string {
	for t, o := range tOthers {
		if o == id {
			return "Test" + t + "_..."
		}
	}
	if s, ok := strings.CutPrefix(id, "CNIL "); ok {
		return "Test..._CNIL_" + strings.ReplaceAll(s, ".", "_") + "_..."
	}
	return "Test" + strings.ReplaceAll(id, "-", "_") + "_..."
}

func (m *Matrix) markdown() []byte {
	var b bytes.Buffer
	b.WriteString("# Traceability matrix\n\nGenerated by `make trace` (internal/trace) from the code: do not edit. Every requirement of\n" +
		"../shared/reference: the files that cite it in a comment (`SEC-EXP-1`, `SRS-091`, `ENS OP.ACC.1`,\n" +
		"`SWR-009`, `SP-050-003`, `CNIL 9.4`) and the tests whose names carry it (`TestSEC_EXP_1_...`, `SRS_091`,\n" +
		"`OP_ACC_1`, `SWR_009`, `SP_050_003`, `CNIL_9_4`). `make test` fails when this file is stale or a\n" +
		"requirement cited in code is named by no test.\n\n")
	var sw, org []Req
	for _, r := range catalog {
		if r.NotSoftware == "" {
			sw = append(sw, r)
		} else {
			org = append(org, r)
		}
	}
	done, gaps := 0, []string{}
	for _, r := range sw {
		if len(m.files[r.ID]) > 0 && len(m.tests[r.ID]) > 0 {
			done++
		} else {
			gaps = append(gaps, r.ID)
		}
	}
	fmt.Fprintf(&b, "%d requirements: %d for software, %d with code and test; %d not software's to meet.\n\n",
		len(catalog), len(sw), done, len(org))
	if len(gaps) > 0 {
		fmt.Fprintf(&b, "Software requirements without code or test yet: %s.\n\n", strings.Join(gaps, ", "))
	}
	if len(pending) > 0 {
		b.WriteString("Cited in code, named by no test yet (internal/trace/catalog.go `pending`):\n\n")
		for _, id := range keysOf(pending) {
			fmt.Fprintf(&b, "- %s: %s\n", id, pending[id])
		}
		b.WriteString("\n")
	}
	b.WriteString("## Software requirements\n\n| id | requirement | implemented in | tests |\n|---|---|---|---|\n")
	for _, r := range sw {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", r.ID, r.Title, list(keysOf(m.files[r.ID])), list(keysOf(m.tests[r.ID])))
	}
	b.WriteString("\n## Not software's to meet\n\n| id | requirement | why |\n|---|---|---|\n")
	slices.SortStableFunc(org, func(a, c Req) int { return strings.Compare(a.NotSoftware, c.NotSoftware) })
	for _, r := range org {
		fmt.Fprintf(&b, "| %s | %s | %s |\n", r.ID, r.Title, r.NotSoftware)
	}
	return b.Bytes()
}

func list(s []string) string {
	if len(s) == 0 {
		return "—"
	}
	return strings.Join(s, "<br>")
}
