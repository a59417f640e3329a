package indicators_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"hdw/indicators"
	"hdw/objstore"
	"hdw/objstore/storetest"
)

// SEC-EXP-4: the ledger refuses a run over the budget, never records a
// refused run, and detects an edited or removed entry.
func TestSEC_EXP_4_LedgerBudget(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := storetest.Local(t, dir)
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	l := &indicators.Ledger{St: st, MAC: testMAC("k"), Now: func() time.Time { return now }}
	b := indicators.Budget{Epsilon: 1, Delta: 1e-5, Period: "month"}
	for i := range 2 {
		if _, err := l.Charge(ctx, "LH-USR-a", b, "x", fmt.Sprint(i), 0.5, 1e-6); err != nil {
			t.Fatal(err)
		}
	}
	_, err := l.Charge(ctx, "LH-USR-a", b, "x", "3", 0.1, 1e-6)
	if !errors.Is(err, indicators.ErrBudgetExhausted) {
		t.Fatalf("third run: %v, want budget exhausted", err)
	}
	// Another consumer has their own budget; the next month is fresh.
	if _, err := l.Charge(ctx, "LH-USR-b", b, "x", "1", 0.5, 1e-6); err != nil {
		t.Fatal(err)
	}
	eps, _, err := l.Spent(ctx, "LH-USR-a", b, now)
	if err != nil || eps != 1 {
		t.Fatalf("spent %g, %v", eps, err)
	}
	now = now.AddDate(0, 1, 0)
	if _, err := l.Charge(ctx, "LH-USR-a", b, "x", "4", 0.5, 1e-6); err != nil {
		t.Fatalf("next month: %v", err)
	}
	// An edited entry (lower epsilon) no longer verifies.
	if _, err := st.Open(ctx, "indicators/budget/LH-USR-a/2026-12/00000001.json"); err != nil {
		t.Fatal(err)
	}
	forge := func(key, body string) {
		t.Helper()
		if err := st.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		if err := st.PutIfAbsent(ctx, key, strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
	}
	rc, _ := st.Open(ctx, "indicators/budget/LH-USR-a/2026-12/00000002.json")
	buf := make([]byte, 4096)
	n, _ := rc.Read(buf)
	rc.Close()
	forge("indicators/budget/LH-USR-a/2026-12/00000002.json", strings.Replace(string(buf[:n]), `"epsilon":0.5`, `"epsilon":0.01`, 1))
	if _, _, err := l.Spent(ctx, "LH-USR-a", b, now.AddDate(0, -1, 0)); !errors.Is(err, indicators.ErrTampered) {
		t.Fatalf("edited entry: %v, want tampered", err)
	}
	// A removed first entry breaks the chain.
	if err := st.Delete(ctx, "indicators/budget/LH-USR-b/2026-12/00000001.json"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Charge(ctx, "LH-USR-b", b, "x", "2", 0.1, 1e-6); err != nil {
		t.Fatal(err) // nothing left: the ledger starts again at 1; removal of the whole period is caught by the audit trail
	}
}

// SEC-EXP-4: removing the newest ledger entries (to spend the budget
// again) is invisible to the chain but not to the audit trail: Reconcile
// finds each audited spend missing from the ledger.
func TestSEC_EXP_4_LedgerReconciledWithAudit(t *testing.T) {
	ctx := context.Background()
	st := storetest.Local(t, t.TempDir())
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	l := &indicators.Ledger{St: st, MAC: testMAC("k"), Now: func() time.Time { return now }}
	var audited []indicators.SpendEvent
	for i := range 3 {
		s, err := l.Charge(ctx, "LH-USR-a", indicators.DefaultBudget, "x", fmt.Sprint("run", i), 0.5, 1e-6)
		if err != nil {
			t.Fatal(err)
		}
		audited = append(audited, indicators.SpendEvent{Consumer: s.Consumer, Period: s.Period, Run: s.Run, Seq: s.Seq})
	}
	if f, err := l.Reconcile(ctx, audited); err != nil || len(f) != 0 {
		t.Fatalf("clean ledger: %v %v", f, err)
	}
	if err := st.Delete(ctx, "indicators/budget/LH-USR-a/2026-12/00000003.json"); err != nil {
		t.Fatal(err)
	}
	f, err := l.Reconcile(ctx, audited)
	if err != nil || len(f) != 1 || !strings.Contains(f[0], "entry 3 of run run2 is missing") {
		t.Fatalf("tail removed: %q %v", f, err)
	}
}

// Grouping transforms: dates by month or year, numbers by band.

// SEC-EXP-4: a consumer who holds the ledger's MAC key (in local mode
// every profile can compute the audit key) rewrites their spends with a
// lower epsilon, chained and sealed again: the ledger verifies (its MAC
// cannot tell), so a run goes through; the admin's reconciliation with
// the audit trail, which the consumer cannot rewrite unseen, finds every
// lowered entry.
func TestSEC_EXP_4_ConsumerResealedLedgerEditDetected(t *testing.T) {
	ctx := context.Background()
	st := storetest.Local(t, t.TempDir())
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	mac := testMAC("k")
	l := &indicators.Ledger{St: st, MAC: mac, Now: func() time.Time { return now }}
	b := indicators.Budget{Epsilon: 1, Delta: 1e-5, Period: "month"}
	var audited []indicators.SpendEvent
	for i := range 2 {
		s, err := l.Charge(ctx, "LH-USR-a", b, "x", fmt.Sprint("run", i), 0.5, 1e-6)
		if err != nil {
			t.Fatal(err)
		}
		audited = append(audited, indicators.SpendEvent{Consumer: s.Consumer, Period: s.Period, Run: s.Run, Seq: s.Seq,
			EpsilonMicro: indicators.Micro(s.Epsilon), TotalEpsilonMicro: indicators.Micro(s.TotalEpsilon)})
	}
	if f, err := l.Reconcile(ctx, audited); err != nil || len(f) != 0 {
		t.Fatalf("clean ledger: %v %v", f, err)
	}
	// The consumer's forgery: every entry rewritten at epsilon 0.01, the
	// chain and the MACs computed again with the key they hold.
	prefix := "indicators/budget/LH-USR-a/2026-12/"
	prev, total := "", 0.0
	for seq := 1; seq <= 2; seq++ {
		key := prefix + fmt.Sprintf("%08d.json", seq)
		raw, err := objstore.ReadAll(ctx, st, key, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		var s indicators.Spend
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatal(err)
		}
		total += 0.01
		s.Prev, s.Epsilon, s.TotalEpsilon, s.MAC = prev, 0.01, total, ""
		body, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := mac.Sum(ctx, body)
		if err != nil {
			t.Fatal(err)
		}
		s.MAC = hex.EncodeToString(sum)
		if raw, err = json.Marshal(s); err != nil {
			t.Fatal(err)
		}
		if err := st.Delete(ctx, key); err != nil {
			t.Fatal(err)
		}
		if err := st.PutIfAbsent(ctx, key, bytes.NewReader(raw)); err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(raw)
		prev = hex.EncodeToString(h[:])
	}
	if eps, _, err := l.Spent(ctx, "LH-USR-a", b, now); err != nil || eps > 0.03 {
		t.Fatalf("the resealed ledger should verify (the MAC key is the consumer's too): spent %g, %v", eps, err)
	}
	f, err := l.Reconcile(ctx, audited)
	if err != nil || len(f) != 2 || !strings.Contains(f[0], "entry 1 of run run0 spends epsilon 0.01 (total 0.01), the audit trail says 0.5 (total 0.5)") {
		t.Fatalf("resealed edit: %q %v", f, err)
	}
}
