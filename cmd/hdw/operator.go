package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"hdw/audit"
	"hdw/export"
	"hdw/keys"
	"hdw/keys/local"
	hv "hdw/keys/vault"
)

// newOperatorCmd: operators are people (ENS OP.ACC.1); only the admin
// enrols and removes them (SWR-009: no self-registration).
func newOperatorCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "operator", Short: "enrol, list and remove the persons who act under a profile (admin; ENS OP.ACC.1, SWR-009)"}
	var role string
	var auth keys.Authorization
	add := &cobra.Command{
		Use:   "add NAME --role PROFILE --decision REF [--manager NAME]",
		Short: "enrol a person with their own key pair, sealed by their own passphrase",
		Long: `Add enrols NAME (a login handle: a-z 0-9 . _ -) as an operator of the
profile given by --role, with an id LH-USR-<uuid> that the audit trail, the
export approvals and every signature carry. The person's ed25519 private key
is sealed by their own passphrase: the one in the file
<credentials dir>/operator_NAME when it exists, else a random one written
there (mode 0600) for the admin to hand over. The person then runs commands
with HDW_OPERATOR=NAME and their passphrase in HDW_OPERATOR_PASSPHRASE_FILE
(or that file). With Vault (the Vault administrator's token, as for hdw
vault setup), the person gets their own ed25519 transit signing key, a
policy allowing only them to sign with it, and an entity with the
profile's policy, bound to their login (--vault-login, default a userpass
user whose password is written to that file); see docs/keys.md.

The enrolment records the decision that authorizes it (SEC-HAB-3):
--decision, the reference of the governance body's decision, always; and
for the admin profile --manager, the line manager whose decision it is.
Both are stored with the operator in the keyring and shown by
hdw operator review; the decision reference is audited.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runOperatorAdd(cmd.Context(), g, args[0], role, auth)
		},
	}
	add.Flags().StringVar(&role, "role", "", "the profile the person acts as (ingest, curator, approver, dpo, admin, researcher:<project>)")
	add.Flags().StringVar(&auth.Decision, "decision", "", "reference of the governance body's decision authorizing the enrolment (SEC-HAB-3; required)")
	add.Flags().StringVar(&auth.Manager, "manager", "", "for the admin profile: the line manager whose decision it is (SEC-HAB-3; required for admin)")
	vaultOperatorFlags(add) // --vault-login (vaultoperator.go)
	c.AddCommand(add)
	c.AddCommand(newOperatorReviewCmd(g))
	c.AddCommand(&cobra.Command{
		Use:   "list",
		Short: "list the enrolled operators (id, name, role, enrolment, removal)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runOperatorList(cmd.Context(), g)
		},
	})
	c.AddCommand(&cobra.Command{
		Use:   "remove NAME",
		Short: "withdraw an operator: they sign nothing more; what they signed still verifies (SEC-HAB-6)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runOperatorRemove(cmd.Context(), g, args[0])
		},
	})
	c.AddCommand(&cobra.Command{
		Use:   "unlock PROFILE|operator:NAME",
		Short: "lift the lock-out of a profile or operator after too many failed unlocks (SRS-089)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runOperatorUnlock(cmd.Context(), g, args[0])
		},
	})
	return c
}

func runOperatorUnlock(ctx context.Context, g *globals, subject string) error {
	return g.within(ctx, "operator unlock", []string{keys.ProfileAdmin}, func(sess *session) error {
		n, err := g.gate(ctx, sess.st).Failures(ctx, subject)
		if err != nil {
			return err
		}
		if err := g.gate(ctx, sess.st).Unlock(ctx, audit.AuthRecord{Subject: subject, Profile: g.profile, Operator: sess.operator,
			Command: "operator unlock", Source: hostname()}); err != nil {
			return err
		}
		if err := sess.event(ctx, "", "auth.unlock", "ok", map[string]string{"subject": subject}, map[string]int64{"failures": int64(n)}, ""); err != nil {
			return err
		}
		fmt.Fprintf(g.stdout, "%s unlocked after %d failed attempts\n", subject, n)
		return nil
	})
}

// operatorKeyring returns the session's local keyring, or explains the
// Vault path.
func operatorKeyring(sess *session) (*local.Keyring, error) {
	k, ok := sess.prov.(*local.Keyring)
	if !ok {
		return nil, errors.New("operators are enrolled in the local keyring; with Vault, enrol each person as a Vault entity with their own auth and transit signing key (docs/keys.md, Operators)")
	}
	return k, nil
}

func operatorFile(g *globals, name string) string {
	return filepath.Join(g.credentialsDir(), "operator_"+name)
}

func runOperatorAdd(ctx context.Context, g *globals, name, role string, auth keys.Authorization) error {
	if role == "" {
		return usageErr("operator add needs --role PROFILE")
	}
	if !keys.KnownProfile(role) {
		return usageErr("unknown profile %q for --role", role)
	}
	if !keys.ValidOperatorName(name) {
		return usageErr("operator name must be 2 to 64 of a-z 0-9 . _ - starting with a letter")
	}
	if err := g.requireProfile(keys.ProfileAdmin); err != nil {
		return err
	}
	if err := auth.Check(keys.Profile(role)); err != nil {
		return usageErr("%v", err)
	}
	return g.within(ctx, "operator add", nil, func(sess *session) error {
		if p, ok := sess.prov.(*hv.Provider); ok { // Vault: the person's transit key, policy, entity (vaultoperator.go)
			return runVaultOperatorAdd(ctx, g, sess, p, name, role, auth)
		}
		k, err := operatorKeyring(sess)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(g.credentialsDir(), 0o700); err != nil {
			return err
		}
		f := operatorFile(g, name)
		secret, err := keys.ReadSecretFile(f)
		if err != nil {
			if secret, err = writePassphrase(f); err != nil {
				return err
			}
		}
		defer clear(secret)
		op, err := k.AddOperator(ctx, name, keys.Profile(role), auth, secret, operatorNow())
		if err != nil {
			sess.event(ctx, "", "operator.add", "failed", map[string]string{"role": role}, nil, "")
			return err
		}
		if err := sess.event(ctx, "", "operator.add", "ok", map[string]string{"operator": op.ID, "role": role, "decision": auth.Decision}, nil, ""); err != nil {
			return err
		}
		if g.json {
			return json.NewEncoder(g.stdout).Encode(op)
		}
		fmt.Fprintf(g.stdout, "operator %s enrolled as %s: %s\npassphrase in %s (mode 0600): hand it to the person\n", name, role, op.ID, f)
		return nil
	})
}

func runOperatorList(ctx context.Context, g *globals) error {
	return g.withOperators(ctx, "operator list", []string{keys.ProfileAdmin, keys.ProfileDPO}, func(sess *session, k operatorStore) error {
		ops, err := k.Directory().Operators(ctx)
		if err != nil {
			return err
		}
		if g.json {
			return json.NewEncoder(g.stdout).Encode(orEmpty(ops))
		}
		for _, o := range ops {
			state := "active"
			if !o.Removed.IsZero() {
				state = "removed " + o.Removed.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(g.stdout, "%s  %-16s %-20s enrolled %s  %s\n", o.ID, o.Name, o.Role, o.Enrolled.UTC().Format(time.RFC3339), state)
		}
		return nil
	})
}

func runOperatorRemove(ctx context.Context, g *globals, name string) error {
	return g.withOperators(ctx, "operator remove", []string{keys.ProfileAdmin}, func(sess *session, k operatorStore) error {
		op, err := k.RemoveOperator(ctx, name, operatorNow())
		if err != nil {
			return err
		}
		if err := sess.event(ctx, "", "operator.remove", "ok", map[string]string{"operator": op.ID, "role": string(op.Role)}, nil, ""); err != nil {
			return err
		}
		fmt.Fprintf(g.stdout, "operator %s (%s) removed\n", name, op.ID)
		return nil
	})
}

var _ export.Directory = exportDirectory{}
var _ export.Signer = (*local.OperatorKey)(nil)
