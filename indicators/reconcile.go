package indicators

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// SpendEvent is a spend as the audit trail recorded it (the
// indicators.spend event written right after the ledger entry).
type SpendEvent struct {
	Consumer, Period, Run string
	Seq                   int64
}

// Reconcile checks the ledger against the spends the audit trail recorded:
// every audited spend must still be in the ledger, at its sequence number,
// for the same run. A ledger whose newest entries were removed (which its
// chain alone cannot show) or that no longer verifies is a finding. The
// findings name consumers, periods and runs, never data.
func (l *Ledger) Reconcile(ctx context.Context, events []SpendEvent) ([]string, error) {
	type cp struct{ consumer, period string }
	by := map[cp][]SpendEvent{}
	for _, e := range events {
		k := cp{e.Consumer, e.Period}
		by[k] = append(by[k], e)
	}
	keys := make([]cp, 0, len(by))
	for k := range by {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b cp) int {
		if a.consumer != b.consumer {
			if a.consumer < b.consumer {
				return -1
			}
			return 1
		}
		if a.period < b.period {
			return -1
		} else if a.period > b.period {
			return 1
		}
		return 0
	})
	var findings []string
	for _, k := range keys {
		es, _, err := l.entries(ctx, k.consumer, k.period)
		if errors.Is(err, ErrTampered) {
			findings = append(findings, fmt.Sprintf("budget ledger of %s, %s: %v", k.consumer, k.period, err))
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range by[k] {
			switch {
			case e.Seq < 1 || e.Seq > int64(len(es)):
				findings = append(findings, fmt.Sprintf("budget ledger of %s, %s: entry %d of run %s is missing (%d entries left)", k.consumer, k.period, e.Seq, e.Run, len(es)))
			case es[e.Seq-1].Run != e.Run:
				findings = append(findings, fmt.Sprintf("budget ledger of %s, %s: entry %d is run %s, the audit trail says %s", k.consumer, k.period, e.Seq, es[e.Seq-1].Run, e.Run))
			}
		}
	}
	return findings, nil
}
