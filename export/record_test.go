package export_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"hdw/export"
)

// fakeOp is an operator with their own ed25519 key (keys.Signer's shape).
type fakeOp struct {
	id, role string
	priv     ed25519.PrivateKey
}

func (o fakeOp) OperatorID() string           { return o.id }
func (o fakeOp) PublicKey() ed25519.PublicKey { return o.priv.Public().(ed25519.PublicKey) }
func (o fakeOp) Sign(_ context.Context, m []byte) ([]byte, error) {
	return ed25519.Sign(o.priv, m), nil
}

type fakeDir map[string]fakeOp

func (d fakeDir) Operator(_ context.Context, id string) (export.Operator, error) {
	o, ok := d[id]
	if !ok {
		return export.Operator{}, errors.New("no such operator")
	}
	return export.Operator{ID: o.id, Role: o.role, PublicKey: o.PublicKey()}, nil
}

func newOp(id, role string, n byte) fakeOp {
	seed := make([]byte, 32)
	seed[0] = n
	return fakeOp{id, role, ed25519.NewKeyFromSeed(seed)}
}

var (
	curator   = newOp("LH-USR-curator", "curator", 1)
	approver1 = newOp("LH-USR-approver1", "approver", 2)
	approver2 = newOp("LH-USR-approver2", "approver", 3)
	dpo       = newOp("LH-USR-dpo", "dpo", 4)
	dir       = fakeDir{curator.id: curator, approver1.id: approver1, approver2.id: approver2, dpo.id: dpo}
	rules     = export.Rules{JustifiedSecondApprover: true, SecondMayBeDPO: true, Substantive: func(s string) bool { return len(s) >= 40 }}
	t0        = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
)

func content(pass bool) export.Content {
	return export.Content{ID: "X1", Project: "cardio", ApprovalRef: "CSE-2026-014", Table: "health", Requester: curator.id,
		Created: t0, Snapshot: "batches:abc", DataSHA256: "00", Pass: pass}
}

func history(t *testing.T, c export.Content, steps ...any) []export.Entry {
	t.Helper()
	var h []export.Entry
	for i := 0; i < len(steps); i += 3 {
		op, kind, just := steps[i].(fakeOp), steps[i+1].(string), steps[i+2].(string)
		e, err := export.NewEntry(context.Background(), op, op.role, h, c, kind, just, t0)
		if err != nil {
			t.Fatal(err)
		}
		h = append(h, e)
	}
	return h
}

const good = "reviewed with the DPO: the two small classes are adults with common diagnoses"

// TestSEC_EXP_2_SignedHistory: request, approval by another operator with
// the approver role, release; every forgery is refused.
func TestSEC_EXP_2_SignedHistory(t *testing.T) {
	ctx := context.Background()
	c := content(true)
	h := history(t, c, curator, export.KindRequest, "", approver1, export.KindApprove, "", curator, export.KindRelease, "")
	st, err := export.Verify(ctx, dir, c, h, rules)
	if err != nil || st.Status != "released" || !st.Signed || st.Approvers[0] != approver1.id {
		t.Fatalf("%+v %v", st, err)
	}
	forgeries := map[string]func() (export.Content, []export.Entry){
		"edited approval (status by hand, unsigned)": func() (export.Content, []export.Entry) {
			h := history(t, c, curator, export.KindRequest, "")
			return c, append(h, export.Entry{Seq: 2, Kind: export.KindApprove, Export: c.ID, ContentHash: c.Hash(), Operator: approver1.id, Role: "approver", Prev: h[0].Hash()})
		},
		"self-approval": func() (export.Content, []export.Entry) {
			return c, history(t, c, curator, export.KindRequest, "", newOp(curator.id, "approver", 1), export.KindApprove, "")
		},
		"approval by a curator": func() (export.Content, []export.Entry) {
			other := newOp("LH-USR-curator2", "curator", 9)
			dir[other.id] = other
			return c, history(t, c, curator, export.KindRequest, "", other, export.KindApprove, "")
		},
		"content edited after approval": func() (export.Content, []export.Entry) {
			h := history(t, c, curator, export.KindRequest, "", approver1, export.KindApprove, "")
			c2 := c
			c2.Request.K = 2
			return c2, h
		},
		"release before approval": func() (export.Content, []export.Entry) {
			return c, history(t, c, curator, export.KindRequest, "", curator, export.KindRelease, "")
		},
		"release after a cancellation": func() (export.Content, []export.Entry) {
			return c, history(t, c, curator, export.KindRequest, "", approver1, export.KindApprove, "", dpo, export.KindCancel, "", curator, export.KindRelease, "")
		},
		"cancellation by a curator": func() (export.Content, []export.Entry) {
			return c, history(t, c, curator, export.KindRequest, "", curator, export.KindCancel, "")
		},
		"signature of another key": func() (export.Content, []export.Entry) {
			return c, history(t, c, curator, export.KindRequest, "", newOp(approver1.id, "approver", 7), export.KindApprove, "")
		},
	}
	for name, f := range forgeries {
		t.Run(name, func(t *testing.T) {
			c, h := f()
			if _, err := export.Verify(ctx, dir, c, h, rules); !errors.Is(err, export.ErrForged) {
				t.Fatalf("%v, want ErrForged", err)
			}
		})
	}
}

// TestSEC_EXP_3_JustifiedRelease: a failed export needs a substantive
// justification and a second approver (another person, or the DPO).
func TestSEC_EXP_3_JustifiedRelease(t *testing.T) {
	ctx := context.Background()
	c := content(false)
	for name, tc := range map[string]struct {
		steps []any
		want  string
	}{
		"weak justification":  {[]any{approver1, export.KindApprove, "ok"}, "forged"},
		"one approver":        {[]any{approver1, export.KindApprove, good}, "awaiting-second-approval"},
		"two approvers":       {[]any{approver1, export.KindApprove, good, approver2, export.KindApprove, good}, "approved"},
		"approver and DPO":    {[]any{approver1, export.KindApprove, good, dpo, export.KindApprove, good}, "approved"},
		"same approver twice": {[]any{approver1, export.KindApprove, good, approver1, export.KindApprove, good}, "forged"},
		"DPO first":           {[]any{dpo, export.KindApprove, good}, "forged"},
	} {
		t.Run(name, func(t *testing.T) {
			h := history(t, c, append([]any{curator, export.KindRequest, ""}, tc.steps...)...)
			st, err := export.Verify(ctx, dir, c, h, rules)
			got := st.Status
			if errors.Is(err, export.ErrForged) {
				got = "forged"
			}
			if got != tc.want {
				t.Fatalf("%s, want %s (%v)", got, tc.want, err)
			}
			if got == "approved" && !st.Justified {
				t.Fatal("not flagged as a justified release")
			}
		})
	}
	_ = fmt.Sprint
}

// FuzzVerify: a history decoded from arbitrary JSON never verifies (no
// fuzzer forges an ed25519 signature) and never panics; every error is
// ErrForged.
func FuzzVerify(f *testing.F) {
	f.Add([]byte(`[{"seq":1,"kind":"request","export":"X1","operator":"LH-USR-curator","role":"curator"}]`))
	f.Add([]byte(`[{"seq":1,"kind":"request"},{"seq":2,"kind":"approve","justification":"ok"}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var h []export.Entry
		if json.Unmarshal(b, &h) != nil {
			return
		}
		for _, pass := range []bool{true, false} {
			if _, err := export.Verify(context.Background(), dir, content(pass), h, rules); !errors.Is(err, export.ErrForged) {
				t.Fatalf("unsigned history: %v", err)
			}
		}
	})
}
