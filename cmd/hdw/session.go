package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"hdw/audit"
	"hdw/keys"
	"hdw/keys/local"
	hv "hdw/keys/vault"
	"hdw/objstore"
	"hdw/warehouse"
)

// session is what a command gets after authentication: the warehouse, the
// key provider of its profile, and the audit trail (opened first: if the
// audit sink cannot be written, nothing proceeds, SRS-065).
type session struct {
	g        *globals
	st       objstore.Store
	wh       *warehouse.Warehouse
	prov     keys.Provider
	operator string
	// signer is the logged-in operator's own key (HDW_OPERATOR, ENS
	// OP.ACC.1), nil when the session runs under the profile's service
	// identity only.
	signer  keys.Signer
	audit   auditSink
	command string
}

// Signer returns the logged-in operator's signer (keys.Signer) for the
// records a command signs (export approvals, rights decisions), or nil
// when no operator logged in (HDW_OPERATOR unset).
func (s *session) Signer() keys.Signer { return s.signer }

// auditSink is the part of the audit log a command uses.
type auditSink interface {
	record(ctx context.Context, ev auditEvent) error
	close(ctx context.Context) error
}

// auditEvent is one audit event; never an identifying value.
type auditEvent struct {
	Command string
	Action  string
	Outcome string
	Target  map[string]string
	Counts  map[string]int64
	Reason  string
}

// within runs fn in a session opened for command, by one of the
// allowed profiles (any profile when allowed is nil), and closes the
// session after: the one preamble of the commands that act on the
// warehouse.
func (g *globals) within(ctx context.Context, command string, allowed []string, fn func(*session) error) error {
	var sess *session
	var err error
	if allowed == nil {
		sess, err = g.open(ctx, command)
	} else {
		sess, err = g.openFor(ctx, command, allowed...)
	}
	if err != nil {
		return err
	}
	defer sess.close(ctx)
	return fn(sess)
}

// withOperators is within for the commands on the operator directory:
// fn gets the session's operator store (the local keyring or Vault).
func (g *globals) withOperators(ctx context.Context, command string, allowed []string, fn func(*session, operatorStore) error) error {
	return g.within(ctx, command, allowed, func(sess *session) error {
		k, err := operatorStoreFor(sess)
		if err != nil {
			return err
		}
		return fn(sess, k)
	})
}

// open authenticates g.profile against the warehouse and opens the audit trail.
// openFor checks that the caller's profile is one of allowed (a refusal
// is audited by requireProfile) and opens the session of command.
func (g *globals) openFor(ctx context.Context, command string, allowed ...string) (*session, error) {
	if err := g.requireProfile(allowed...); err != nil {
		return nil, err
	}
	return g.open(ctx, command)
}

func (g *globals) open(ctx context.Context, command string) (*session, error) {
	s, err := g.openStore(ctx, g.warehouse)
	if err != nil {
		return nil, fmt.Errorf("open warehouse %s: %w", g.warehouse, err)
	}
	wh, err := warehouse.Open(ctx, s, nil)
	if err != nil {
		return nil, err
	}
	// SRS-089: progressive delay, lock-out, and every failure recorded
	// (by the failing process, which holds no key).
	gate := g.gate(ctx, s)
	subj := audit.AuthRecord{Subject: g.profile, Profile: g.profile, Command: command, Source: hostname()}
	if _, err := gate.Before(ctx, subj); err != nil {
		return nil, fmt.Errorf("profile %s: %w", g.profile, err)
	}
	prov, err := g.openProvider(ctx, s, wh.Desc)
	if err != nil {
		if errors.Is(err, keys.ErrBadCredentials) {
			subj.Reason = "credentials refused"
			if rerr := gate.Failed(ctx, subj); rerr != nil {
				fmt.Fprintf(g.stderr, "hdw: record the failed unlock: %v\n", rerr)
			}
			return nil, fmt.Errorf("profile %s: %w", g.profile, err)
		}
		return nil, err
	}
	failures, _ := gate.Succeeded(ctx, subj)
	wh.Keys = prov
	op, err := prov.Operator(ctx)
	if err != nil {
		prov.Close()
		return nil, fmt.Errorf("operator identity: %w", err)
	}
	var opSubj audit.AuthRecord
	if ref := g.getenv("HDW_OPERATOR"); ref != "" {
		opSubj = audit.AuthRecord{Subject: "operator:" + ref, Profile: g.profile, Command: command, Source: hostname()}
		if _, err := gate.Before(ctx, opSubj); err != nil {
			prov.Close()
			return nil, fmt.Errorf("operator %s: %w", ref, err)
		}
	}
	signer, err := g.openOperator(ctx, s, prov, command)
	if err != nil {
		prov.Close()
		if opSubj.Subject != "" && (errors.Is(err, keys.ErrBadCredentials) || errors.Is(err, keys.ErrForbidden)) {
			opSubj.Reason = "operator credentials refused"
			if errors.Is(err, keys.ErrForbidden) {
				opSubj.Reason = "operator not enrolled for this profile"
			}
			gate.Failed(ctx, opSubj)
		}
		return nil, err
	}
	if opSubj.Subject != "" {
		opSubj.Operator = signer.OperatorID()
		n, _ := gate.Succeeded(ctx, opSubj)
		failures += n
		g.recordLogin(ctx, s, signer.OperatorID(), command) // last activity (SEC-HAB-5)
	}
	if signer != nil {
		op = signer.OperatorID() // the person, not the profile's service id
	}
	sess := &session{g: g, st: s, wh: wh, prov: prov, operator: op, signer: signer, command: command}
	g.command = command
	a, err := g.openAudit(ctx, s, prov, op, signer)
	if err != nil {
		prov.Close()
		return nil, fmt.Errorf("audit trail not writable, nothing done (SRS-065): %w", err)
	}
	sess.audit = a
	if failures > 0 {
		// The failures before this success, in the trail too (SEC-DAY-1).
		sess.event(ctx, "", "auth.failures", "alert", nil, map[string]int64{"failures": int64(failures)}, "failed unlocks before this session")
	}
	return sess, nil
}

// gate is the SRS-089 gate of the warehouse: delays doubling from one
// second up to 30 s, lock-out at the sealed policy's lockout_threshold
// (verified with its public seal, no key needed; default 5), which
// audit.lockout_threshold in the config may only lower.
func (g *globals) gate(ctx context.Context, s objstore.Store) audit.Gate {
	return audit.Gate{St: s, Threshold: lockoutThreshold(ctx, s, g.cfg), Sleep: g.authSleep}
}

// auditRefused records a command refused by the profile check (SEC-DAY-1):
// the profile, the command and the reason, in the warehouse's
// authentication records. Best effort: a refusal outside any warehouse is
// not recorded.
func (g *globals) auditRefused(reason string) {
	ctx := context.Background()
	s, err := g.openStore(ctx, g.warehouse)
	if err != nil {
		return
	}
	if _, err := warehouse.Open(ctx, s, nil); err != nil {
		return
	}
	cmd := g.command
	g.gate(ctx, s).Record(ctx, audit.AuthRecord{Kind: audit.AuthRefused, Subject: g.profile, Profile: g.profile,
		Operator: g.getenv("HDW_OPERATOR"), Command: cmd, Reason: reason, Source: hostname()})
}

// openOperator unlocks the operator named by HDW_OPERATOR (id or name)
// with their own passphrase: HDW_OPERATOR_PASSPHRASE_FILE, else
// HDW_OPERATOR_PASSPHRASE, else <credentials dir>/operator_<name>; never a
// flag. The operator must be enrolled for the session's profile and not
// suspended for an overdue access review (SEC-HAB-5). It returns nil, nil
// when HDW_OPERATOR is unset.
func (g *globals) openOperator(ctx context.Context, s objstore.Store, prov keys.Provider, command string) (keys.Signer, error) {
	if vp, ok := prov.(*hv.Provider); ok {
		return g.openVaultOperator(ctx, s, vp, command) // the token's entity is the person (vaultoperator.go)
	}
	ref := g.getenv("HDW_OPERATOR")
	if ref == "" {
		return nil, nil
	}
	if _, ok := prov.(*local.Keyring); !ok {
		return nil, errors.New("HDW_OPERATOR: this key provider enrols no operators")
	}
	var pass []byte
	var err error
	switch {
	case g.getenv("HDW_OPERATOR_PASSPHRASE_FILE") != "":
		pass, err = keys.ReadSecretFile(g.getenv("HDW_OPERATOR_PASSPHRASE_FILE"))
	case g.getenv("HDW_OPERATOR_PASSPHRASE") != "":
		pass = []byte(g.getenv("HDW_OPERATOR_PASSPHRASE"))
	default:
		pass, err = keys.ReadSecretFile(filepath.Join(g.credentialsDir(), "operator_"+ref))
	}
	if err != nil {
		return nil, fmt.Errorf("no passphrase for operator %s: set HDW_OPERATOR_PASSPHRASE_FILE", ref)
	}
	defer clear(pass)
	k, err := local.OpenOperator(ctx, s, ref, pass)
	if err != nil {
		return nil, fmt.Errorf("operator %s: %w (check their passphrase)", ref, err)
	}
	if string(k.Operator().Role) != g.profile {
		k.Close()
		return nil, fmt.Errorf("operator %s is enrolled as %s, not %s: %w", ref, k.Operator().Role, g.profile, keys.ErrForbidden)
	}
	if err := g.checkReviewed(ctx, s, prov, k.Operator(), ref, command); err != nil {
		k.Close()
		return nil, err
	}
	return k, nil
}

// event appends an audit event for this session's command.
func (s *session) event(ctx context.Context, command, action, outcome string, target map[string]string, counts map[string]int64, reason string) error {
	if command == "" {
		command = s.command
	}
	return s.audit.record(context.WithoutCancel(ctx), auditEvent{Command: command, Action: action, Outcome: outcome, Target: target, Counts: counts, Reason: reason})
}

// deny audits a refused access (SEC-DAY-1) and returns err.
func (s *session) deny(ctx context.Context, action string, target map[string]string, err error) error {
	s.event(ctx, "", action, "denied", target, nil, "")
	return err
}

func (s *session) close(ctx context.Context) {
	if s.audit != nil {
		if err := s.audit.close(context.WithoutCancel(ctx)); err != nil {
			fmt.Fprintf(s.g.stderr, "hdw: close audit segment: %v\n", err)
		}
	}
	if s.prov != nil {
		s.prov.Close()
	}
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	return h
}

var _ = time.Now

func nowUTC() time.Time { return time.Now().UTC() }
