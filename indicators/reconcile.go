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
	// The run's epsilon and the period's total with it, in millionths
	// (the event's epsilon_micro and total_epsilon_micro); 0 when the
	// event does not say (a run's epsilon is never 0).
	EpsilonMicro, TotalEpsilonMicro int64
}

// Micro is an epsilon in millionths, as the audit events count it.
func Micro(f float64) int64 { return int64(f*1e6 + 0.5) }

// Reconcile checks the ledger against the spends the audit trail recorded:
// every audited spend must still be in the ledger, at its sequence number,
// for the same run and the same epsilon. A ledger whose newest entries
// were removed (which its chain alone cannot show), whose amounts were
// lowered and sealed again by someone who holds its MAC key (every
// profile can compute the local audit key: the consumer too), or that no
// longer verifies is a finding. The audit trail is what the consumer
// cannot rewrite unseen (its checkpoints are signed with the admin's key).
// The findings name consumers, periods and runs, never data.
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
			case e.EpsilonMicro > 0 && Micro(es[e.Seq-1].Epsilon) != e.EpsilonMicro,
				e.TotalEpsilonMicro > 0 && Micro(es[e.Seq-1].TotalEpsilon) != e.TotalEpsilonMicro:
				findings = append(findings, fmt.Sprintf("budget ledger of %s, %s: entry %d of run %s spends epsilon %g (total %g), the audit trail says %g (total %g)",
					k.consumer, k.period, e.Seq, e.Run, es[e.Seq-1].Epsilon, es[e.Seq-1].TotalEpsilon, float64(e.EpsilonMicro)/1e6, float64(e.TotalEpsilonMicro)/1e6))
			}
		}
	}
	return findings, nil
}
