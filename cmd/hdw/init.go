package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"hdw/keys"
	"hdw/keys/local"
	"hdw/objstore"
	"hdw/warehouse"
)

func newInitCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "init",
		Short: "create the warehouse and its keys",
		Long: `Init creates the warehouse descriptor and its keys.

With the embedded keyring (keys.provider: local, the default) it creates one
passphrase per profile (ingest, curator, approver, dpo, admin), writes each to
the credentials folder (HDW_CREDENTIALS, default ./hdw-credentials, one file
per profile, mode 0600) unless HDW_PASSPHRASE_<PROFILE> files already exist
there, and seals every key only to the profiles allowed to use it. Hand each
file to its holder and remove the others from the machine.

With Vault (keys.provider: vault) run 'hdw vault setup' as admin first; init
then records the warehouse and creates its transit and pseudonym keys.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInit(cmd.Context(), g)
		},
	}
}

var initProfiles = []string{keys.ProfileIngest, keys.ProfileCurator, keys.ProfileApprover, keys.ProfileDPO, keys.ProfileAdmin}

func runInit(ctx context.Context, g *globals) error {
	s, err := g.openStore(ctx, g.warehouse)
	if err != nil {
		return fmt.Errorf("open warehouse %s: %w", g.warehouse, err)
	}
	if _, err := warehouse.Open(ctx, s, nil); err == nil {
		return fmt.Errorf("a warehouse already exists at %s", g.warehouse)
	}
	desc := warehouse.Descriptor{ID: warehouse.NewID(nowUTC()), KeyProvider: g.cfg.Keys.Provider}
	switch g.cfg.Keys.Provider {
	case "vault":
		if err := g.initVault(ctx, s, &desc); err != nil {
			return err
		}
	default:
		pass, err := g.ensurePassphrases(initProfiles)
		if err != nil {
			return err
		}
		defer func() {
			for _, p := range pass {
				clear(p)
			}
		}()
		if err := local.Init(ctx, s, pass); err != nil {
			return fmt.Errorf("create keyring: %w", err)
		}
	}
	if err := warehouse.Create(ctx, s, desc); err != nil {
		if errors.Is(err, objstore.ErrExist) {
			return fmt.Errorf("a warehouse already exists at %s", g.warehouse)
		}
		return err
	}
	// The first audit event: the creation itself, under the admin profile.
	prof := g.profile
	if prof == "" {
		g.profile = keys.ProfileAdmin
	}
	sess, err := g.open(ctx, "init")
	g.profile = prof
	if err != nil {
		return fmt.Errorf("warehouse created but cannot be opened: %w", err)
	}
	defer sess.close(ctx)
	if err := sess.event(ctx, "init", "warehouse.create", "ok", map[string]string{"warehouse": desc.ID}, nil, ""); err != nil {
		return err
	}
	if g.json {
		return json.NewEncoder(g.stdout).Encode(map[string]any{"warehouse": desc.ID, "root": g.warehouse, "key_provider": desc.KeyProvider, "credentials": g.credentialsDir()})
	}
	fmt.Fprintf(g.stdout, "warehouse %s created at %s (keys: %s)\n", desc.ID, g.warehouse, desc.KeyProvider)
	if desc.KeyProvider != "vault" {
		fmt.Fprintf(g.stdout, "profile passphrases are in %s/ (one file per profile, mode 0600): hand each to its holder\n", g.credentialsDir())
	}
	return nil
}

// ensurePassphrases returns each profile's passphrase, generating random
// ones (256 bits) into the credentials folder where none exists.
func (g *globals) ensurePassphrases(profiles []string) (map[string][]byte, error) {
	dir := g.credentialsDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	out := map[string][]byte{}
	for _, p := range profiles {
		f := filepath.Join(dir, profileFile(p))
		if b, err := keys.ReadSecretFile(f); err == nil {
			out[p] = b
			continue
		}
		pass, err := writePassphrase(f)
		if err != nil {
			return nil, err
		}
		out[p] = pass
	}
	return out, nil
}

// writePassphrase creates a random passphrase file (mode 0600).
func writePassphrase(path string) ([]byte, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	pass := []byte(base64.RawURLEncoding.EncodeToString(raw))
	clear(raw)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("write passphrase file: %w", err)
	}
	if _, err := f.Write(append(pass, '\n')); err != nil {
		f.Close()
		return nil, err
	}
	return pass, f.Close()
}
