package export

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"

	"hdw/tables"
)

// Check runs the gate's engine over the quasi-identifiers and sensitive
// columns of req as given. It never returns row values in the report.
// Callers releasing data go through [Gate.Check], which makes the
// dictionary's quasi-identifiers and the policy's floors binding first.
//
// Counting (SEC-EXP-1): k counts persons (rows grouped by the person
// column); l and t count persons too: in each class a person weighs 1 for
// each sensitive column, split evenly over the distinct values they hold
// there, so one person with several diagnoses cannot make a class look
// diverse. A value counts toward distinct l once at least one person's
// worth of weight holds it.
//
// The counts are the table layer's out-of-core counter ([tables.Counter]
// with Detail: keyed hashes of the generalized quasi-identifiers, distinct
// persons, rows and person-weighted sensitive values per class, spilled to
// disk past its memory budget), over typed record batches when src is a
// [RecordSource], string batches built from its rows otherwise.
// Suppression is a second pass ([tables.Counter.ClassOf]), t-closeness a
// second pass over the classes once the table's distribution is known.
func Check(ctx context.Context, src RowSource, req Request) (*Report, error) {
	if err := req.validate(src.Columns()); err != nil {
		return nil, err
	}
	rep := &Report{Request: req, Histogram: map[string]int{}}
	c, err := tables.NewCounter(tables.CounterOptions{Keys: req.keySpecs(), Person: req.PersonColumn, Sensitive: req.Sensitive, Detail: true})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrRequest, err)
	}
	defer c.Close()
	cols := req.columns()
	look := newLook(req)
	err = records(ctx, src, cols, func(rec arrow.Record) error {
		look.batch(rec, c.Rows())
		if err := c.Add(rec); err != nil {
			return err
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, err
	}
	rep.Rows = c.Rows()
	// One pass over the classes: those at or above k, and those below
	// (suppressed if their rows are within the limit).
	limit := req.MaxSuppression * float64(rep.Rows)
	kept, low := newTally(len(req.Sensitive)), newTally(len(req.Sensitive))
	var below int64
	lowIDs := map[uint64]bool{}
	K := int64(req.K)
	sum, err := c.Result(K, func(cl tables.Class) error {
		if cl.Persons >= K {
			kept.add(cl, req.RiskThreshold)
			return nil
		}
		low.add(cl, req.RiskThreshold)
		below += cl.Rows
		if float64(below) <= limit {
			lowIDs[cl.ID] = true
		}
		return ctx.Err()
	})
	if err != nil {
		return nil, err
	}
	rep.Persons = sum.Persons
	suppress := below > 0 && float64(below) <= limit
	final := kept
	if suppress {
		rep.Suppressed = below
		if rep.SuppressedRowIndex, err = suppressedRows(ctx, src, cols, c, lowIDs); err != nil {
			return nil, err
		}
	} else {
		final.merge(low)
	}
	if req.T > 0 && final.classes > 0 {
		// The released table's distribution, person-weighted, for t.
		_, err := c.Result(K, func(cl tables.Class) error {
			if suppress && cl.Persons < K {
				return nil
			}
			for i, w := range cl.Weights {
				rep.MaxT = math.Max(rep.MaxT, emd(w, final.global[i]))
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	final.report(rep)
	if len(req.Sensitive) == 0 || final.classes == 0 {
		rep.DistinctL, rep.EntropyL = 0, 0
	}
	kept0 := rep.Rows - rep.Suppressed
	if rep.Classes > 0 && kept0 > 0 {
		rep.RiskAvg = float64(rep.Classes) / float64(rep.Persons)
	}
	verdict(rep, req, look, below, suppress)
	return rep, nil
}

// keySpecs are the quasi-identifiers as the counter's keys, each
// generalized by its rule on the value's string form (once per dictionary
// entry on a dictionary-encoded column); a kept integer or date column is
// hashed as it is.
func (req *Request) keySpecs() []tables.KeySpec {
	var ks []tables.KeySpec
	for _, q := range req.QuasiIdentifiers {
		r, ref := req.rule(q), req.Reference
		ks = append(ks, tables.KeySpec{Column: q, String: func(v string) string { return r.Apply(v, ref) }})
	}
	return ks
}

// columns are the columns the gate reads: person, quasi-identifiers,
// sensitive, once each.
func (req *Request) columns() []string {
	var cols []string
	for _, c := range append(append([]string{req.PersonColumn}, req.QuasiIdentifiers...), req.Sensitive...) {
		if c != "" && !slicesContains(cols, c) {
			cols = append(cols, c)
		}
	}
	return cols
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// suppressedRows returns the indexes (at most 10,000) of the rows in the
// classes ids.
func suppressedRows(ctx context.Context, src RowSource, cols []string, c *tables.Counter, ids map[uint64]bool) ([]int64, error) {
	var out []int64
	var idx int64
	err := records(ctx, src, cols, func(rec arrow.Record) error {
		classes, err := c.ClassOf(rec)
		if err != nil {
			return err
		}
		for _, cl := range classes {
			if ids[cl] && len(out) < 10000 {
				out = append(out, idx)
			}
			idx++
		}
		return ctx.Err()
	})
	return out, err
}

// tally sums the classes of one side of the k threshold.
type tally struct {
	classes, smallest, belowK, rowsAtRisk int64
	hist                                  map[string]int
	riskMax                               float64
	distinctL                             int
	entropyL                              float64
	global                                []map[uint32]float64 // per sensitive column, person-weighted
}

func newTally(sensitive int) *tally {
	t := &tally{smallest: math.MaxInt64, hist: map[string]int{}, distinctL: math.MaxInt, entropyL: math.Inf(1)}
	for range sensitive {
		t.global = append(t.global, map[uint32]float64{})
	}
	return t
}

func (t *tally) add(cl tables.Class, riskThreshold float64) {
	t.classes++
	t.smallest = min(t.smallest, cl.Persons)
	t.hist[bucket(cl.Persons)]++
	r := 1 / float64(cl.Persons)
	t.riskMax = math.Max(t.riskMax, r)
	if r > riskThreshold {
		t.rowsAtRisk += cl.Rows
	}
	for i, w := range cl.Weights {
		t.distinctL = min(t.distinctL, distinctL(w))
		t.entropyL = math.Min(t.entropyL, entropyL(w))
		for v, x := range w {
			t.global[i][v] += x
		}
	}
}

func (t *tally) merge(o *tally) {
	t.classes += o.classes
	t.belowK += o.classes
	t.smallest = min(t.smallest, o.smallest)
	for b, n := range o.hist {
		t.hist[b] += n
	}
	t.riskMax = math.Max(t.riskMax, o.riskMax)
	t.rowsAtRisk += o.rowsAtRisk
	t.distinctL = min(t.distinctL, o.distinctL)
	t.entropyL = math.Min(t.entropyL, o.entropyL)
	for i, g := range o.global {
		for v, x := range g {
			t.global[i][v] += x
		}
	}
}

func (t *tally) report(rep *Report) {
	rep.Classes, rep.ClassesBelowK, rep.Histogram = t.classes, t.belowK, t.hist
	rep.SmallestClass, rep.RiskMax, rep.RowsAtRisk = t.smallest, t.riskMax, t.rowsAtRisk
	rep.DistinctL, rep.EntropyL = t.distinctL, t.entropyL
	if t.classes == 0 {
		rep.SmallestClass = 0
	}
}

// look is what the gate sees of values (never kept in the report): the
// content of the first 1,000 rows' released values (UIDs, tokens, exact
// dates, free text), and the distinct values of the first 100,000 rows per
// column (a column unique per record links).
type look struct {
	req         Request
	cols        []string
	contentFind map[string]string
	colDistinct map[string]map[string]struct{}
}

func newLook(req Request) *look {
	l := &look{req: req, contentFind: map[string]string{}, colDistinct: map[string]map[string]struct{}{}}
	for _, c := range append(append([]string{}, req.QuasiIdentifiers...), req.Sensitive...) {
		if _, ok := l.colDistinct[c]; !ok {
			l.cols = append(l.cols, c)
			l.colDistinct[c] = map[string]struct{}{}
		}
	}
	return l
}

// batch looks at the rows of rec whose table index starts at first.
func (l *look) batch(rec arrow.Record, first int64) {
	n := min(int64(rec.NumRows()), max(0, 100_000-first))
	for _, col := range l.cols {
		idx := rec.Schema().FieldIndices(col)
		if len(idx) == 0 {
			continue
		}
		a := rec.Column(idx[0])
		m, rule := l.colDistinct[col], l.req.rule(col)
		for i := range n {
			v := tables.FormatValue(a, int(i))
			if first+i < 1000 {
				l.content(col, rule.Apply(v, l.req.Reference))
			}
			if v != "" {
				if _, ok := m[v]; !ok {
					m[strings.Clone(v)] = struct{}{}
				}
			}
		}
	}
}

func (l *look) content(col, v string) {
	switch {
	case uidRe.MatchString(v):
		l.contentFind[col] = "holds UIDs"
	case tokenRe.MatchString(v):
		l.contentFind[col] = "holds tokens or pseudonyms"
	case dateRe.MatchString(v):
		l.contentFind[col] = "holds exact dates (generalize to month, quarter or year)"
	case len(v) > 60 && strings.Count(v, " ") > 5:
		l.contentFind[col] = "holds free text"
	}
}

// verdict fills the report's linkability findings, criteria, measures and
// decision from the counts.
func verdict(rep *Report, req Request, look *look, below int64, suppress bool) {
	contentFind, colDistinct := look.contentFind, look.colDistinct
	// Output columns: QIs and sensitive only; the person column is dropped.
	for _, q := range req.QuasiIdentifiers {
		if req.rule(q).Kind != "drop" {
			rep.OutputColumns = append(rep.OutputColumns, q)
		}
	}
	rep.OutputColumns = append(rep.OutputColumns, req.Sensitive...)
	// Linkability over the released columns.
	sample := min(rep.Rows, 100_000)
	for _, col := range rep.OutputColumns {
		name := strings.ToLower(col)
		for _, l := range linkNames {
			if name == l || strings.HasSuffix(name, "_uid") || strings.HasSuffix(name, "_id") {
				rep.Linkability = append(rep.Linkability, fmt.Sprintf("column %s is an identifier or link by name", col))
				break
			}
		}
		if f, ok := contentFind[col]; ok {
			rep.Linkability = append(rep.Linkability, "column "+col+" "+f)
		}
		g := req.rule(col)
		if g.Kind == "keep" && sample >= 20 && float64(len(colDistinct[col])) >= 0.9*float64(sample) {
			rep.Linkability = append(rep.Linkability, fmt.Sprintf("column %s is unique per record (%d distinct of %d)", col, len(colDistinct[col]), sample))
		}
	}
	if req.ExportPseudonyms {
		// SEC-EXP-1 linkability: a pseudonym of this export only (fresh
		// key, never stored), so rows of one person link inside the
		// release and nowhere else.
		rep.OutputColumns = append(rep.OutputColumns, ExportPseudonymColumn)
	}
	pass := true
	add := func(ok bool, reason string) {
		if !ok {
			pass = false
			rep.Reasons = append(rep.Reasons, reason)
		}
	}
	kOK := rep.Classes > 0 && rep.SmallestClass >= int64(req.K)
	add(kOK, fmt.Sprintf("k-anonymity: smallest class has %d persons, k=%d (%d rows in classes below k, suppression limit %.0f%%)", rep.SmallestClass, req.K, below, req.MaxSuppression*100))
	rep.SinglingOut = Criterion{Pass: kOK, Evidence: []string{
		fmt.Sprintf("%d persons, %d rows, %d equivalence classes over %v", rep.Persons, rep.Rows, rep.Classes, req.QuasiIdentifiers),
		fmt.Sprintf("smallest class: %d persons (k=%d required)", rep.SmallestClass, req.K),
		fmt.Sprintf("suppressed rows: %d (limit %.1f%% of rows)", rep.Suppressed, req.MaxSuppression*100),
		fmt.Sprintf("prosecutor risk: max %.3f, average %.3f; %d rows above %.3f", rep.RiskMax, rep.RiskAvg, rep.RowsAtRisk, req.RiskThreshold),
	}}
	linkOK := len(rep.Linkability) == 0
	add(linkOK, "linkability: "+strings.Join(rep.Linkability, "; "))
	pseud := "no pseudonym released"
	if req.ExportPseudonyms {
		pseud = "export-scoped pseudonyms (fresh key, discarded after the release)"
	}
	rep.Linkable = Criterion{Pass: linkOK, Evidence: append([]string{
		"person column dropped; released columns: " + strings.Join(rep.OutputColumns, ", "),
		"rows shuffled with a fresh random key; " + pseud,
	}, rep.Linkability...)}
	lOK := len(req.Sensitive) == 0 || rep.DistinctL >= req.L
	tOK := req.T == 0 || rep.MaxT <= req.T
	add(lOK, fmt.Sprintf("l-diversity: a class has %d distinct sensitive values counted in persons, l=%d", rep.DistinctL, req.L))
	add(tOK, fmt.Sprintf("t-closeness: max distance %.3f > t=%.3f", rep.MaxT, req.T))
	rep.Inference = Criterion{Pass: lOK && tOK, Evidence: []string{
		fmt.Sprintf("distinct l-diversity in persons: min %d (l=%d required)", rep.DistinctL, req.L),
		fmt.Sprintf("entropy l-diversity in persons: min %.2f", rep.EntropyL),
		fmt.Sprintf("t-closeness: max %.3f (t=%g, 0 = not checked)", rep.MaxT, req.T),
	}}
	rep.Measures = []Measure{
		{Name: "k-anonymity (smallest class, persons)", Criterion: G29SinglingOut, Value: float64(rep.SmallestClass), Required: fmt.Sprintf(">= %d", req.K), Pass: kOK},
		{Name: "suppressed rows", Criterion: G29SinglingOut, Value: float64(rep.Suppressed), Required: fmt.Sprintf("<= %.1f%% of %d rows", req.MaxSuppression*100, rep.Rows), Pass: rep.Suppressed == 0 || suppress},
		{Name: "prosecutor risk (max)", Criterion: G29SinglingOut, Value: rep.RiskMax, Required: fmt.Sprintf("<= %.3f", 1/float64(req.K)), Pass: kOK},
		{Name: "linkability findings", Criterion: G29Linkability, Value: float64(len(rep.Linkability)), Required: "0", Pass: linkOK},
		{Name: "rows shuffled (fresh key)", Criterion: G29Linkability, Value: 1, Required: "1", Pass: true},
		{Name: "warehouse or workspace pseudonyms released", Criterion: G29Linkability, Value: 0, Required: "0", Pass: true},
		{Name: "distinct l-diversity (persons)", Criterion: G29Inference, Value: float64(rep.DistinctL), Required: fmt.Sprintf(">= %d", req.L), Pass: lOK},
		{Name: "entropy l-diversity (persons)", Criterion: G29Inference, Value: rep.EntropyL, Required: "reported", Pass: true},
	}
	if req.T > 0 {
		rep.Measures = append(rep.Measures, Measure{Name: "t-closeness (max EMD)", Criterion: G29Inference, Value: rep.MaxT, Required: fmt.Sprintf("<= %g", req.T), Pass: tOK})
	}
	rep.Pass = pass
	sort.Strings(rep.Reasons)
}

func bucket(n int64) string {
	switch {
	case n < 2:
		return "1"
	case n < 5:
		return "2-4"
	case n < 10:
		return "5-9"
	case n < 20:
		return "10-19"
	case n < 50:
		return "20-49"
	case n < 100:
		return "50-99"
	}
	return "100+"
}

// distinctL counts the values held by at least one person's worth of
// weight (a person's weight is split over the values they hold).
func distinctL[K comparable](m map[K]float64) int {
	n := 0
	for _, w := range m {
		if w >= 1-1e-9 {
			n++
		}
	}
	return n
}

// entropyL returns exp(entropy) of a class's person-weighted sensitive values.
func entropyL[K comparable](m map[K]float64) float64 {
	total := 0.0
	for _, w := range m {
		total += w
	}
	if total == 0 {
		return 0
	}
	h := 0.0
	for _, w := range m {
		if w > 0 {
			p := w / total
			h -= p * math.Log(p)
		}
	}
	return math.Exp(h)
}

// emd is the earth mover's distance for categorical values: half the L1
// distance between the class and the table distributions (person-weighted).
func emd[K comparable](m, g map[K]float64) float64 {
	var n, gn float64
	for _, w := range m {
		n += w
	}
	for _, w := range g {
		gn += w
	}
	if n == 0 || gn == 0 {
		return 0
	}
	d := 0.0
	for v, c := range g {
		d += math.Abs(m[v]/n - c/gn)
	}
	return d / 2
}
