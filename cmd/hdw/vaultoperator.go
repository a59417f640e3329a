package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"hdw/keys"
	"hdw/keys/local"
	hv "hdw/keys/vault"
	"hdw/objstore"
)

// Operators on Vault (issue 22 item 5, issue 21 item 3): the person's own
// transit signing key, policy, entity and login (package keys/vault,
// operators.go). The wiring here is thin: flags, the call, the audit
// event, the output.

// operatorStore is where operators are enrolled: the local keyring or Vault.
type operatorStore interface {
	Directory() keys.Directory
	RemoveOperator(ctx context.Context, ref string, now time.Time) (keys.Operator, error)
	ReviewOperator(ctx context.Context, ref string, rv keys.OperatorReview) (keys.Operator, error)
}

var (
	_ operatorStore = (*local.Keyring)(nil)
	_ operatorStore = (*hv.Provider)(nil)
)

// operatorStoreOf returns the provider's operator store, nil for none.
func operatorStoreOf(p keys.Provider) operatorStore {
	if s, ok := p.(operatorStore); ok {
		return s
	}
	return nil
}

// directoryOf returns the operator directory of the provider (nil: none),
// with which signatures of events and records are checked.
func directoryOf(p keys.Provider) keys.Directory {
	if s := operatorStoreOf(p); s != nil {
		return s.Directory()
	}
	return nil
}

type vaultLoginKey struct{}

// vaultOperatorFlags adds --vault-login to operator add.
func vaultOperatorFlags(add *cobra.Command) {
	var login string
	add.Flags().StringVar(&login, "vault-login", "", "Vault only: the person's login, MOUNT:NAME of an enabled auth method (oidc:alice@chu.example); default userpass:NAME; a userpass login gets a password written to <credentials dir>/operator_NAME")
	run := add.RunE
	add.RunE = func(cmd *cobra.Command, args []string) error {
		cmd.SetContext(context.WithValue(cmd.Context(), vaultLoginKey{}, login))
		return run(cmd, args)
	}
}

// runVaultOperatorAdd enrols name on Vault; the session's token must be the
// Vault administrator's (HDW_VAULT_TOKEN_FILE).
func runVaultOperatorAdd(ctx context.Context, g *globals, sess *session, p *hv.Provider, name, role string, auth keys.Authorization) error {
	spec, _ := ctx.Value(vaultLoginKey{}).(string)
	login := hv.Login{Mount: "userpass", Name: name}
	if spec != "" {
		m, n, ok := strings.Cut(spec, ":")
		if !ok || m == "" || n == "" || strings.ContainsAny(m, "/ ") {
			return usageErr("--vault-login must be MOUNT:NAME (oidc:alice@chu.example)")
		}
		login.Mount, login.Name = m, n
	}
	f := ""
	if login.Mount == "userpass" {
		if err := os.MkdirAll(g.credentialsDir(), 0o700); err != nil {
			return err
		}
		f = operatorFile(g, name)
		secret, err := keys.ReadSecretFile(f)
		if err != nil {
			if secret, err = writePassphrase(f); err != nil {
				return err
			}
		}
		defer clear(secret)
		login.Password = secret
	}
	op, err := p.AddOperator(ctx, name, keys.Profile(role), auth, login, operatorNow())
	if err != nil {
		sess.event(ctx, "", "operator.add", "failed", map[string]string{"role": role, "provider": "vault"}, nil, "")
		return err
	}
	if err := sess.event(ctx, "", "operator.add", "ok", map[string]string{"operator": op.ID, "role": role, "decision": auth.Decision, "provider": "vault"}, nil, ""); err != nil {
		return err
	}
	if g.json {
		return json.NewEncoder(g.stdout).Encode(op)
	}
	fmt.Fprintf(g.stdout, "operator %s enrolled as %s in Vault: %s (signing key %s)\n", name, role, op.ID, p.OperatorKey(op.ID))
	if f != "" {
		fmt.Fprintf(g.stdout, "userpass password in %s (mode 0600): hand it to the person, who logs in with vault login -method=userpass username=%s\n", f, login.Name)
	} else {
		fmt.Fprintf(g.stdout, "the person logs in with their %s login %s (vault login -method=%s)\n", login.Mount, login.Name, login.Mount)
	}
	return nil
}

// openVaultOperator returns the signer of the person whose Vault token
// the session holds (their entity is an enrolled operator), or nil for a
// service token (an AppRole). HDW_OPERATOR, when set, must name that
// person; their role must be the session's profile.
func (g *globals) openVaultOperator(ctx context.Context, s objstore.Store, p *hv.Provider, command string) (keys.Signer, error) {
	ref := g.getenv("HDW_OPERATOR")
	sg, err := p.OpenOperator(ctx)
	if errors.Is(err, keys.ErrOperatorNotFound) {
		if ref != "" {
			return nil, fmt.Errorf("operator %s: this Vault token is not that enrolled person's: log in with your own Vault login (vault login -method=userpass username=NAME): %w", ref, keys.ErrForbidden)
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	op := sg.Operator()
	if ref != "" && ref != op.ID && ref != op.Name {
		return nil, fmt.Errorf("operator %s: the Vault token is %s's: %w", ref, op.ID, keys.ErrForbidden)
	}
	if string(op.Role) != g.profile {
		return nil, fmt.Errorf("operator %s is enrolled as %s, not %s: %w", op.Name, op.Role, g.profile, keys.ErrForbidden)
	}
	if err := g.checkReviewed(ctx, s, p, op, op.Name, command); err != nil {
		return nil, err
	}
	if ref == "" {
		g.recordLogin(ctx, s, op.ID, command) // last activity (SEC-HAB-5); with HDW_OPERATOR, open records it
	}
	return sg, nil
}

// operatorStoreFor returns the session's operator store or explains why none.
func operatorStoreFor(sess *session) (operatorStore, error) {
	if s := operatorStoreOf(sess.prov); s != nil {
		return s, nil
	}
	return nil, errors.New("this key provider enrols no operators (local keyring or Vault only)")
}
