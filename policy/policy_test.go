package policy_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"hdw/policy"
)

type signer struct{ priv ed25519.PrivateKey }

func (s signer) PublicKey() ed25519.PublicKey { return s.priv.Public().(ed25519.PublicKey) }
func (s signer) Sign(_ context.Context, m []byte) ([]byte, error) {
	return ed25519.Sign(s.priv, m), nil
}

func newSigner(b byte) signer {
	seed := make([]byte, 32)
	seed[0] = b
	return signer{ed25519.NewKeyFromSeed(seed)}
}

var now = time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC)

func chain(t *testing.T, s signer, ps ...policy.Policy) []policy.Record {
	t.Helper()
	var out []policy.Record
	for _, p := range ps {
		var prev *policy.Record
		if len(out) > 0 {
			prev = &out[len(out)-1]
		}
		r, err := policy.Seal(context.Background(), s, prev, p, "LH-USR-admin", now)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// TestSEC_EXP_1_PolicySealedChain: versions chain and verify; any edit,
// reordering or foreign key is refused.
func TestSEC_EXP_1_PolicySealedChain(t *testing.T) {
	s := newSigner(1)
	p2 := policy.Default()
	p2.Export.K = 10
	c := chain(t, s, policy.Default(), p2)
	latest, err := policy.Verify(s.PublicKey(), c)
	if err != nil || latest.Version != 2 || latest.Policy.Export.K != 10 {
		t.Fatalf("verify: %v %+v", err, latest)
	}
	cases := map[string]func([]policy.Record) []policy.Record{
		"edited k": func(c []policy.Record) []policy.Record { c[1].Policy.Export.K = 2; return c },
		"edited by hand through JSON": func(c []policy.Record) []policy.Record {
			b, _ := json.Marshal(c[0])
			b = []byte(strings.Replace(string(b), `"max_per_day":20`, `"max_per_day":400`, 1))
			r, _ := policy.DecodeRecord(b)
			c[0] = r
			return c
		},
		"reordered": func(c []policy.Record) []policy.Record { return []policy.Record{c[1], c[0]} },
		"dropped":   func(c []policy.Record) []policy.Record { return c[1:] },
		"foreign key": func(c []policy.Record) []policy.Record {
			o := chain(t, newSigner(2), policy.Default(), p2)
			return []policy.Record{c[0], o[1]}
		},
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			cp := append([]policy.Record(nil), c...)
			if _, err := policy.Verify(s.PublicKey(), edit(cp)); !errors.Is(err, policy.ErrTampered) {
				t.Fatalf("%v, want ErrTampered", err)
			}
		})
	}
	if _, err := policy.DecodeRecord([]byte(`{"version":1,"extra":1}`)); !errors.Is(err, policy.ErrTampered) {
		t.Fatal("unknown field accepted")
	}
}

// TestSEC_EXP_1_PolicyOnlyTightens: overrides that tighten apply; those
// that loosen are refused, each named.
func TestSEC_EXP_1_PolicyOnlyTightens(t *testing.T) {
	p := policy.Default()
	got, err := p.Tighten(policy.Overrides{K: 8, MaxReidentificationsPerDay: 5, HealthYears: 10})
	if err != nil || got.Export.K != 8 || got.Reidentification.MaxPerDay != 5 || got.Retention.HealthYears != 10 {
		t.Fatalf("tighten: %v %+v", err, got)
	}
	_, err = p.Tighten(policy.Overrides{K: 2, MaxReidentificationsPerDay: 320, MaxSuppression: 0.3, HealthYears: 30})
	if !errors.Is(err, policy.ErrLoosen) {
		t.Fatal(err)
	}
	for _, f := range []string{"export.k", "max_reidentifications_per_day", "max_suppression", "health_years"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("loosening of %s not named: %v", f, err)
		}
	}
	loosens(t, p, "export.k", func(n *policy.Policy) { n.Export.K = 3 })
}

func TestPolicyParse(t *testing.T) {
	p, err := policy.Parse(strings.NewReader("export: {k: 11, l: 3}\nretention: {start_event: end-of-project}\n"))
	if err != nil || p.Export.K != 11 || p.Export.L != 3 || p.Retention.StartEvent != "end-of-project" || p.Reidentification.MaxPerDay != 20 {
		t.Fatalf("%v %+v", err, p)
	}
	refused(t, "export: {k: 1}", "approval: {four_eyes: false}", "nope: 1", "retention: {start_event: whenever}")
}

// TestSEC_EXP_3_Substantive: "ok" is not a justification.
func TestSEC_EXP_3_Substantive(t *testing.T) {
	for j, want := range map[string]bool{
		"ok": false, "reviewed": false, strings.Repeat("ok ", 30): false,
		"reviewed with the DPO: classes below k are two rare diagnoses of adults, aggregated by the team before publication": true,
	} {
		if policy.Substantive(j, 40) != want {
			t.Errorf("%q: want %v", j, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("export: {k: 5}")
	f.Add("approval: {justification_min_chars: 40}\nlockout_threshold: 3")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := policy.Parse(strings.NewReader(s))
		if err != nil {
			return
		}
		if p.Validate() != nil || !p.Approval.FourEyes {
			t.Fatal("parsed policy does not validate")
		}
	})
}

// TestSEC_EXP_4_PolicyIndicatorBudget: the indicators' privacy budget is a
// field of the sealed policy, validated, and a raise is named as a
// loosening.
func TestSEC_EXP_4_PolicyIndicatorBudget(t *testing.T) {
	p, err := policy.Parse(strings.NewReader("indicators: {epsilon: 1, delta: 0.000001, period: quarter}\n"))
	if err != nil || p.Indicators.Epsilon != 1 || p.Indicators.Period != "quarter" {
		t.Fatalf("%v %+v", err, p.Indicators)
	}
	refused(t, "indicators: {epsilon: 0}\n", "indicators: {epsilon: 50}\n", "indicators: {delta: 0.5}\n", "indicators: {period: week}\n")
	loosens(t, p, "indicators.epsilon", func(n *policy.Policy) { n.Indicators.Epsilon = 3 })
	// A shorter period with the same epsilon.
	loosens(t, p, "indicators.period", func(n *policy.Policy) { n.Indicators.Period = "month" })
}

// TestSEC_HAB_5_PolicyAccessReview: the review period and its grace are
// fields of the sealed policy (default 12 months + 30 days), validated, a
// longer one named as a loosening; a record sealed before the field
// existed still verifies and means the defaults.
func TestSEC_HAB_5_PolicyAccessReview(t *testing.T) {
	p, err := policy.Parse(strings.NewReader("review: {months: 6, grace_days: 10}\n"))
	if err != nil || p.EffectiveReview() != (policy.AccessReview{Months: 6, GraceDays: 10}) {
		t.Fatalf("%v %+v", err, p.Review)
	}
	if d := policy.Default().EffectiveReview(); d.Months != 12 || d.GraceDays != 30 {
		t.Fatalf("default review %+v", d)
	}
	refused(t, "review: {months: 0, grace_days: 5}\n", "review: {months: 24}\n", "review: {grace_days: 365}\n", "review: {grace_days: -1}\n")
	loosens(t, p, "review.months", func(n *policy.Policy) { n.Review.Months = 12 })
	loosens(t, p, "review.grace_days", func(n *policy.Policy) { n.Review.GraceDays = 30 })
	// A policy sealed before the field: no "review" in its encoding, so
	// its signature still verifies, and the defaults apply.
	old := policy.Default()
	old.Review = policy.AccessReview{}
	s := newSigner(7)
	c := chain(t, s, old)
	b, _ := json.Marshal(c[0])
	if strings.Contains(string(b), `"review"`) {
		t.Fatalf("a zero review is encoded: %s", b)
	}
	r, err := policy.DecodeRecord(b)
	if err != nil {
		t.Fatal(err)
	}
	latest, err := policy.Verify(s.PublicKey(), []policy.Record{r})
	if err != nil || latest.Policy.EffectiveReview().Months != 12 {
		t.Fatalf("legacy record: %v", err)
	}
}

// TestSEC_PSE_1_RotationMapRetention: the map of a pseudonym-key rotation
// is kept for the sealed policy's months (default 12, 1 to 60), and a
// longer period is named as a loosening.
func TestSEC_PSE_1_RotationMapRetention(t *testing.T) {
	p := policy.Default()
	if p.Retention.MapMonths() != policy.DefaultRotationMapMonths {
		t.Fatalf("default %d", p.Retention.MapMonths())
	}
	q := p
	q.Retention.RotationMapMonths = 61
	if q.Validate() == nil {
		t.Fatal("61 months accepted")
	}
	q.Retention.RotationMapMonths = 24
	if q.Validate() != nil || !slices.Contains(p.Loosens(q), "retention.rotation_map_months") {
		t.Fatal("a longer map retention must validate and be named a loosening")
	}
}

// refused checks that policy.Parse refuses every one of docs.
func refused(t *testing.T, docs ...string) {
	t.Helper()
	for _, bad := range docs {
		if _, err := policy.Parse(strings.NewReader(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// loosens checks that p.Loosens names field, and field alone, for p
// changed by edit.
func loosens(t *testing.T, p policy.Policy, field string, edit func(*policy.Policy)) {
	t.Helper()
	next := p
	edit(&next)
	if l := p.Loosens(next); len(l) != 1 || l[0] != field {
		t.Fatalf("loosening of %s: named %v", field, l)
	}
}
