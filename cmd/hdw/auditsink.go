package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"hdw/keys"
	"hdw/objstore"
	"hdw/warehouse"
)

// simpleAudit is an interim sink: hash-chained JSON lines, one segment per
// command, MACed with the audit key.
type simpleAudit struct {
	st      objstore.Store
	key     keys.Secret
	id      string
	prev    string
	lines   [][]byte
	profile string
	op      string
}

func (g *globals) openAudit(ctx context.Context, s objstore.Store, p keys.Provider, op string) (auditSink, error) {
	k, err := p.PseudonymKey(ctx, keys.Audit)
	if err != nil {
		return nil, err
	}
	a := &simpleAudit{st: s, key: k, id: warehouse.NewID(time.Now()), profile: p.Profile(), op: op}
	// Prove the sink writable before anything happens (SRS-065).
	if err := s.PutIfAbsent(ctx, "audit/"+a.id+".open", bytes.NewReader([]byte(a.profile))); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *simpleAudit) record(ctx context.Context, ev auditEvent) error {
	m := map[string]any{"time": time.Now().UTC().Format("2006-01-02T15:04:05.000Z07:00"), "operator": a.op, "profile": a.profile,
		"command": ev.Command, "action": ev.Action, "outcome": ev.Outcome, "target": ev.Target, "counts": ev.Counts,
		"reason": ev.Reason, "source": hostname(), "prev": a.prev}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	h := sha256.Sum256(b)
	a.prev = hex.EncodeToString(h[:])
	a.lines = append(a.lines, b)
	return nil
}

func (a *simpleAudit) close(ctx context.Context) error {
	defer a.key.Wipe()
	if len(a.lines) == 0 {
		return nil
	}
	var buf bytes.Buffer
	for _, l := range a.lines {
		buf.Write(l)
		buf.WriteByte('\n')
	}
	mac := hmac.New(sha256.New, a.key.Bytes())
	mac.Write(buf.Bytes())
	buf.WriteString(`{"mac":"` + hex.EncodeToString(mac.Sum(nil)) + `"}` + "\n")
	err := a.st.PutIfAbsent(ctx, "audit/"+a.id+".jsonl", &buf)
	return errors.Join(err)
}
