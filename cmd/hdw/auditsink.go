package main

import (
	"context"
	"errors"
	"time"

	"hdw/audit"
	"hdw/keys"
	"hdw/objstore"
)

// auditLog adapts audit.Log to the session's sink.
type auditLog struct{ l *audit.Log }

// openAudit opens the session's audit segment (written before the command
// acts: SRS-065), sealed with the audit key.
func (g *globals) openAudit(ctx context.Context, s objstore.Store, p keys.Provider, op string, signer keys.Signer) (auditSink, error) {
	mac, err := g.auditMAC(ctx, p)
	if err != nil {
		return nil, err
	}
	months := max(g.cfg.Retention.AuditMonths, policyAuditMonths(ctx, s, p)) // a config never shortens the sealed policy's lock (issue 21)
	l, err := audit.Open(ctx, s, mac, audit.Options{Profile: p.Profile(), Operator: op, Source: hostname(), Command: g.command,
		Sealer:   p,      // SRS-091: payloads encrypted under keys.AuditStore
		Signer:   signer, // each event signed by the person who acts (ENS OP.ACC.1); nil: no operator
		LockMode: g.cfg.Audit.ObjectLockMode, LockFor: time.Duration(months) * 30 * 24 * time.Hour})
	if err != nil {
		return nil, err
	}
	return auditLog{l}, nil
}

// withMAC is within for the commands that read the audit trail: fn gets
// the trail's MAC key too.
func (g *globals) withMAC(ctx context.Context, command string, allowed []string, fn func(*session, audit.MAC) error) error {
	return g.within(ctx, command, allowed, func(sess *session) error {
		mac, err := g.auditMAC(ctx, sess.prov)
		if err != nil {
			return err
		}
		return fn(sess, mac)
	})
}

// secretOrCreate returns the provider's secret name, creating it first
// when a warehouse older than the secret lacks it (the admin's keys).
func secretOrCreate(ctx context.Context, prov keys.Provider, name string) (keys.Secret, error) {
	sec, err := prov.PseudonymKey(ctx, name)
	if errors.Is(err, keys.ErrKeyNotFound) {
		if err = prov.CreateKey(ctx, name); err == nil {
			sec, err = prov.PseudonymKey(ctx, name)
		}
	}
	return sec, err
}

func (g *globals) auditMAC(ctx context.Context, p keys.Provider) (audit.MAC, error) {
	k, err := p.PseudonymKey(ctx, keys.Audit)
	if err != nil {
		return nil, err
	}
	defer k.Wipe()
	return audit.HMAC(k), nil
}

func (a auditLog) record(ctx context.Context, ev auditEvent) error {
	return a.l.Append(ctx, audit.Event{Command: ev.Command, Action: ev.Action, Outcome: ev.Outcome,
		Target: ev.Target, Counts: ev.Counts, Reason: ev.Reason})
}

func (a auditLog) close(ctx context.Context) error { return a.l.Close(ctx) }

// operatorDirectory returns the directory of enrolled operators, to check
// event signatures (local keyring or Vault; nil otherwise).
func operatorDirectory(p keys.Provider) audit.Operators {
	if d := directoryOf(p); d != nil { // local keyring or Vault (vaultoperator.go)
		return d
	}
	return nil
}
