package indicators

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"hdw/objstore"
)

// Budget is a consumer's privacy budget for one period: the epsilon and
// delta that all their runs of the period may spend together (sequential
// composition).
type Budget struct {
	Epsilon float64 `json:"epsilon"`
	Delta   float64 `json:"delta"`
	Period  string  `json:"period"` // month, quarter or year (UTC calendar)
}

// DefaultBudget is the budget of every consumer until the sealed warehouse
// policy sets one: fixed in code, so that no flag, config file or
// environment variable of the consumer can raise it. With the default
// epsilon per run (0.5) it allows four runs a month.
var DefaultBudget = Budget{Epsilon: 2, Delta: 1e-5, Period: "month"}

// BudgetPolicy gives a consumer's budget. It is declared here and
// implemented by the sealed warehouse policy (written by admin, verified on
// every read); [FixedBudget] is the fixed default.
type BudgetPolicy interface {
	IndicatorBudget(ctx context.Context, consumer string) (Budget, error)
}

// FixedBudget is a [BudgetPolicy] giving every consumer the same budget.
type FixedBudget Budget

// IndicatorBudget implements [BudgetPolicy].
func (f FixedBudget) IndicatorBudget(context.Context, string) (Budget, error) { return Budget(f), nil }

// PeriodKey returns the period of t: 2026-12, 2026-Q4 or 2026.
func PeriodKey(period string, t time.Time) (string, error) {
	t = t.UTC()
	switch period {
	case "month":
		return t.Format("2006-01"), nil
	case "quarter":
		return fmt.Sprintf("%d-Q%d", t.Year(), (int(t.Month())+2)/3), nil
	case "year":
		return strconv.Itoa(t.Year()), nil
	}
	return "", fmt.Errorf("indicators: budget period %q: want month, quarter or year", period)
}

// MAC seals ledger entries and approval records. Its shape is audit.MAC's,
// so the audit trail's MAC (a Vault transit hmac key, or the local audit
// key) serves both.
type MAC interface {
	Sum(ctx context.Context, data []byte) ([]byte, error)
}

// ErrBudgetExhausted means the run would spend more than the consumer's
// budget of the period.
var ErrBudgetExhausted = errors.New("indicators: privacy budget exhausted")

// ErrTampered means a ledger entry or an approval record does not verify:
// edited, forged, missing or out of order.
var ErrTampered = errors.New("indicators: record does not verify")

// BudgetError is returned (wrapping [ErrBudgetExhausted]) when a run is
// refused: what it asked and what is left.
type BudgetError struct {
	Period                   string
	AskEpsilon, AskDelta     float64
	SpentEpsilon, SpentDelta float64
	Budget                   Budget
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("indicators: privacy budget of %s exhausted: this run needs epsilon %g, delta %g; spent %g of %g, delta %g of %g; "+
		"wait for the next period or ask the admin to raise the budget in the warehouse policy",
		e.Period, e.AskEpsilon, e.AskDelta, e.SpentEpsilon, e.Budget.Epsilon, e.SpentDelta, e.Budget.Delta)
}

func (e *BudgetError) Unwrap() error { return ErrBudgetExhausted }

// Spend is one ledger entry: one run's cost, written once, chained to the
// entry before it and sealed with the [MAC].
type Spend struct {
	Seq       int64     `json:"seq"`
	Prev      string    `json:"prev"` // SHA-256 of the previous entry's bytes, "" for the first
	Time      time.Time `json:"time"`
	Consumer  string    `json:"consumer"`
	Period    string    `json:"period"`
	Indicator string    `json:"indicator"`
	Run       string    `json:"run"`
	Epsilon   float64   `json:"epsilon"`
	Delta     float64   `json:"delta"`
	// Cumulative spend of the period, this run included.
	TotalEpsilon float64 `json:"total_epsilon"`
	TotalDelta   float64 `json:"total_delta"`
	MAC          string  `json:"mac,omitempty"`
}

// Ledger is the privacy budget's record in the warehouse:
// indicators/budget/<consumer>/<period>/<seq>.json, each written once
// (PutIfAbsent), chained and MAC'd. A consumer cannot lower what they spent
// without the MAC key, and cannot remove an entry without breaking the
// chain (a gap in seq, a broken prev); each spend is also an audit event.
type Ledger struct {
	St  objstore.Store
	MAC MAC
	Now func() time.Time
}

var safeID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

func consumerDir(consumer string) string {
	if safeID.MatchString(consumer) && !strings.Contains(consumer, "..") {
		return consumer
	}
	s := sha256.Sum256([]byte(consumer))
	return "h-" + hex.EncodeToString(s[:16])
}

func ledgerPrefix(consumer, period string) string {
	return "indicators/budget/" + consumerDir(consumer) + "/" + period + "/"
}

func (l *Ledger) now() time.Time {
	if l.Now != nil {
		return l.Now().UTC()
	}
	return time.Now().UTC()
}

func seal(ctx context.Context, mac MAC, v any) ([]byte, string, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, "", err
	}
	sum, err := mac.Sum(ctx, body)
	if err != nil {
		return nil, "", fmt.Errorf("indicators: seal: %w", err)
	}
	return body, hex.EncodeToString(sum), nil
}

// entries reads and verifies a consumer's entries of a period, in order.
func (l *Ledger) entries(ctx context.Context, consumer, period string) ([]Spend, string, error) {
	prefix := ledgerPrefix(consumer, period)
	var out []Spend
	prev := ""
	for info, err := range l.St.List(ctx, prefix) {
		if err != nil {
			return nil, "", err
		}
		raw, err := readSmall(ctx, l.St, info.Key)
		if err != nil {
			return nil, "", err
		}
		var s Spend
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, "", fmt.Errorf("%w: %s: not a ledger entry", ErrTampered, info.Key)
		}
		want := int64(len(out) + 1)
		if s.Seq != want || info.Key != prefix+fmt.Sprintf("%08d.json", want) {
			return nil, "", fmt.Errorf("%w: %s: entry %d missing or out of order", ErrTampered, info.Key, want)
		}
		if s.Prev != prev || s.Consumer != consumer || s.Period != period {
			return nil, "", fmt.Errorf("%w: %s: broken chain", ErrTampered, info.Key)
		}
		mac := s.MAC
		s.MAC = ""
		body, sum, err := seal(ctx, l.MAC, s)
		if err != nil {
			return nil, "", err
		}
		if !hmac.Equal([]byte(sum), []byte(mac)) {
			return nil, "", fmt.Errorf("%w: %s: bad MAC", ErrTampered, info.Key)
		}
		_ = body
		h := sha256.Sum256(raw)
		prev = hex.EncodeToString(h[:])
		s.MAC = mac
		out = append(out, s)
	}
	return out, prev, nil
}

func readSmall(ctx context.Context, st objstore.Store, key string) ([]byte, error) {
	return objstore.ReadAll(ctx, st, key, 1<<20)
}

// Spent returns what the consumer spent in the period of t, verified.
func (l *Ledger) Spent(ctx context.Context, consumer string, b Budget, t time.Time) (eps, delta float64, err error) {
	period, err := PeriodKey(b.Period, t)
	if err != nil {
		return 0, 0, err
	}
	es, _, err := l.entries(ctx, consumer, period)
	if err != nil {
		return 0, 0, err
	}
	for _, e := range es {
		eps += e.Epsilon
		delta += e.Delta
	}
	return eps, delta, nil
}

// Charge records a run's spend if the budget holds, before the run
// releases anything. A run that would exceed the budget is refused with a
// *[BudgetError]; a ledger that does not verify with [ErrTampered].
func (l *Ledger) Charge(ctx context.Context, consumer string, b Budget, indicator, run string, eps, delta float64) (Spend, error) {
	if !(b.Epsilon >= 0 && b.Delta >= 0) || math.IsInf(b.Epsilon, 0) || math.IsInf(b.Delta, 0) {
		return Spend{}, fmt.Errorf("indicators: invalid budget")
	}
	now := l.now()
	period, err := PeriodKey(b.Period, now)
	if err != nil {
		return Spend{}, err
	}
	for attempt := 0; attempt < 8; attempt++ {
		es, prev, err := l.entries(ctx, consumer, period)
		if err != nil {
			return Spend{}, err
		}
		var se, sd float64
		for _, e := range es {
			se += e.Epsilon
			sd += e.Delta
		}
		const slack = 1e-12
		if se+eps > b.Epsilon+slack || sd+delta > b.Delta+slack {
			return Spend{}, &BudgetError{Period: period, AskEpsilon: eps, AskDelta: delta, SpentEpsilon: se, SpentDelta: sd, Budget: b}
		}
		s := Spend{Seq: int64(len(es) + 1), Prev: prev, Time: now, Consumer: consumer, Period: period,
			Indicator: indicator, Run: run, Epsilon: eps, Delta: delta, TotalEpsilon: se + eps, TotalDelta: sd + delta}
		_, sum, err := seal(ctx, l.MAC, s)
		if err != nil {
			return Spend{}, err
		}
		s.MAC = sum
		raw, err := json.Marshal(s)
		if err != nil {
			return Spend{}, err
		}
		key := ledgerPrefix(consumer, period) + fmt.Sprintf("%08d.json", s.Seq)
		err = l.St.PutIfAbsent(ctx, key, bytes.NewReader(raw))
		if errors.Is(err, objstore.ErrExist) {
			continue // a concurrent run took this seq: read again
		}
		if err != nil {
			return Spend{}, fmt.Errorf("indicators: record spend: %w", err)
		}
		return s, nil
	}
	return Spend{}, errors.New("indicators: record spend: too many concurrent runs, retry")
}
