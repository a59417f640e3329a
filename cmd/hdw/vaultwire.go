package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	cfgvault "hdw/configs/vault"
	"hdw/keys"
	"hdw/keys/local"
	hv "hdw/keys/vault"
	"hdw/objstore"
	"hdw/warehouse"
)

// vaultConfig merges the config file and the environment (env wins).
func (g *globals) vaultConfig(name string) hv.Config {
	c := hv.ConfigFromEnv(g.getenv)
	v := g.cfg.Keys.Vault
	if c.Address == "" {
		c.Address = v.Address
	}
	if c.Namespace == "" {
		c.Namespace = v.Namespace
	}
	if c.CACert == "" {
		c.CACert = v.CACert
	}
	if c.ClientCert == "" {
		c.ClientCert, c.ClientKey = v.ClientCert, v.ClientKey
	}
	if c.TokenFile == "" && c.RoleID == "" && c.Token == "" && c.AuthMethod == "" {
		c.TokenFile, c.RoleID, c.SecretIDFile = v.TokenFile, v.RoleID, v.SecretIDFile
	}
	if c.TokenFile == "" && c.RoleID == "" && c.Token == "" && c.AuthMethod == "" {
		// Default: the AppRole credentials `hdw vault setup` wrote for the
		// profile (before the token helper's ~/.vault-token, which is not
		// bound to a profile).
		dir := filepath.Join(g.credentialsDir(), "vault")
		if rid, err := keys.ReadSecretFile(filepath.Join(dir, profileFile(g.profile)+".role-id")); err == nil {
			c.RoleID = string(rid)
			c.SecretIDFile = filepath.Join(dir, profileFile(g.profile)+".secret-id")
		}
	}
	c.Warehouse, c.Profile = name, g.profile
	return c
}

func (g *globals) openVault(ctx context.Context, d warehouse.Descriptor) (keys.Provider, error) {
	p, err := hv.Open(ctx, g.vaultConfig(d.VaultName))
	if err != nil {
		return nil, err
	}
	return p, nil
}

// initVault creates the warehouse keys in Vault as the admin profile.
func (g *globals) initVault(ctx context.Context, s objstore.Store, d *warehouse.Descriptor) error {
	name := g.cfg.Keys.Vault.WarehouseName
	if name == "" {
		name = strings.ToLower(strings.ReplaceAll(d.ID[len(d.ID)-8:], "-", ""))
	}
	d.VaultName = name
	prof := g.profile
	g.profile = keys.ProfileAdmin
	defer func() { g.profile = prof }()
	p, err := hv.Open(ctx, g.vaultConfig(name))
	if err != nil {
		return fmt.Errorf("vault (admin): %w", err)
	}
	defer p.Close()
	for _, k := range local.WarehouseKeys {
		if err := p.CreateKey(ctx, k); err != nil {
			return fmt.Errorf("create %s key in Vault: %w", k, err)
		}
	}
	return nil
}

func newVaultCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "vault", Short: "Vault administration (admin profile)"}
	var name string
	var projects []string
	setup := &cobra.Command{
		Use:   "setup",
		Short: "enable transit, KV v2 and AppRole, write the profile policies and AppRoles (idempotent)",
		Long: `Setup runs with a Vault token allowed to manage mounts, policies and auth
methods (HDW_VAULT_TOKEN_FILE). It enables transit, KV v2 at hdw/ and AppRole,
writes one policy per profile from configs/vault/*.hcl (with the warehouse
name), creates one AppRole per profile, and writes each profile's role id
and a fresh secret id to <credentials dir>/vault/ (mode 0600) for the
administrator to hand over. Running it again changes nothing but the secret ids.

--project P (repeatable) also writes the researcher policy and AppRole of each
workspace (researcher:P, configs/vault/researcher.hcl: that workspace's key
only) and its role and secret ids. Only the admin writes policies: a curator
who creates a workspace asks the admin to run this before the researcher
pulls (a policy written by the curator could grant anything).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVaultSetup(cmd.Context(), g, name, projects)
		},
	}
	setup.Flags().StringVar(&name, "name", "", "warehouse name in Vault key and policy names (default keys.vault.warehouse_name)")
	setup.Flags().StringSliceVar(&projects, "project", nil, "also write the researcher policy and AppRole of this workspace (repeatable)")
	c.AddCommand(setup)
	return c
}

func runVaultSetup(ctx context.Context, g *globals, name string, projects []string) error {
	if name == "" {
		name = g.cfg.Keys.Vault.WarehouseName
	}
	if name == "" || !keys.ValidProject(name) {
		return usageErr("--name (or keys.vault.warehouse_name) must be 1-64 of a-z, 0-9, '-', '_'")
	}
	cfg := g.vaultConfig(name)
	if cfg.TokenFile == "" {
		return usageErr("vault setup needs an administrative token: set HDW_VAULT_TOKEN_FILE")
	}
	c, err := hv.NewClient(cfg)
	if err != nil {
		return err
	}
	tok, err := keys.ReadSecretFile(cfg.TokenFile)
	if err != nil {
		return err
	}
	c.SetToken(string(tok))
	if err := hv.Setup(ctx, c, name, cfgvault.Policies); err != nil {
		return err
	}
	profiles := slices.Clone(local.WarehouseProfiles)
	for _, pr := range projects {
		if !keys.ValidProject(pr) {
			return usageErr("--project must be 1-64 of a-z, 0-9, '-', '_'")
		}
		if err := hv.SetupResearcher(ctx, c, name, pr, cfgvault.Policies); err != nil {
			return err
		}
		profiles = append(profiles, keys.Researcher(pr))
	}
	dir := filepath.Join(g.credentialsDir(), "vault")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, p := range profiles {
		rid, sid, err := hv.RoleCredentials(ctx, c, name, p)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, profileFile(p)+".role-id"), []byte(rid+"\n"), 0o600); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, profileFile(p)+".secret-id"), []byte(sid+"\n"), 0o600); err != nil {
			return err
		}
	}
	if g.json {
		return json.NewEncoder(g.stdout).Encode(map[string]any{"warehouse_name": name, "credentials": dir})
	}
	fmt.Fprintf(g.stdout, "vault set up for warehouse %s: policies and AppRoles written; role and secret ids in %s/\n", name, dir)
	return nil
}

func newKeysCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "keys", Short: "key management (admin profile)"}
	var minVersion int
	rot := &cobra.Command{
		Use:   "rotate health|identity|genetic|ws:PROJECT",
		Short: "rotate a store key and rewrap the stored data keys without rewriting data",
		Long: `Rotate adds a new version of a store key; new data keys use it, old data stays
readable. The data keys of every batch are then rewrapped under the new
version (Vault: transit/rewrap, server-side, so the admin never sees them;
embedded keyring: rewrapping needs a profile that can unwrap the store, so
the admin's rotation leaves old data keys wrapped by the previous version).
--min-version N retires older versions once everything is rewrapped.
Pseudonym keys are not rotated here: see docs/keys.md (re-pseudonymization).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runKeysRotate(cmd.Context(), g, args[0], minVersion)
		},
	}
	rot.Flags().IntVar(&minVersion, "min-version", 0, "retire versions below N after rewrapping")
	withRotatePseudo(g, rot)
	c.AddCommand(rot)
	return c
}

type retirer interface {
	RetireVersions(ctx context.Context, name string, minVersion int) error
}

func runKeysRotate(ctx context.Context, g *globals, store string, minVersion int) error {
	if !keys.IsStoreKey(store) || (store != keys.Health && store != keys.Identity && store != keys.Genetic && !strings.HasPrefix(store, "ws:")) {
		return usageErr("rotate takes health, identity, genetic or ws:PROJECT")
	}
	return g.within(ctx, "keys rotate", []string{keys.ProfileAdmin, keys.ProfileCurator, keys.ProfileDPO}, func(sess *session) error {
		target := map[string]string{"key": store}
		v, err := sess.prov.RotateKey(ctx, store)
		if err != nil {
			return sess.deny(ctx, "keys.rotate", target, err)
		}
		rewrapped, skipped := 0, 0
		for info, err := range sess.st.List(ctx, "dek/") {
			if err != nil {
				return err
			}
			var bk warehouse.BatchKeys
			if err := objstore.ReadJSON(ctx, sess.st, info.Key, 1<<20, &bk); err != nil {
				return err
			}
			w, ok := bk.Wrapped[store]
			if !ok {
				continue
			}
			nw, err := sess.prov.Rewrap(ctx, store, [][]byte{w})
			if errors.Is(err, keys.ErrForbidden) {
				skipped++
				continue
			}
			if err != nil {
				return err
			}
			bk.Wrapped[store] = nw[0]
			data, _ := json.Marshal(bk)
			wr, err := sess.st.Create(ctx, info.Key)
			if err != nil {
				return err
			}
			wr.Write(data)
			if err := wr.Close(); err != nil {
				return err
			}
			rewrapped++
		}
		if minVersion > 0 {
			if skipped > 0 {
				return fmt.Errorf("%d batch keys could not be rewrapped by this profile; not retiring versions below %d", skipped, minVersion)
			}
			r, ok := sess.prov.(retirer)
			if !ok {
				return errors.New("this key provider cannot retire versions")
			}
			if err := r.RetireVersions(ctx, store, minVersion); err != nil {
				return err
			}
		}
		sess.event(ctx, "", "keys.rotate", "ok", target, map[string]int64{"version": int64(v), "rewrapped": int64(rewrapped), "not_rewrapped": int64(skipped), "min_version": int64(minVersion)}, "")
		if g.json {
			return json.NewEncoder(g.stdout).Encode(map[string]any{"key": store, "version": v, "rewrapped": rewrapped, "not_rewrapped": skipped})
		}
		fmt.Fprintf(g.stdout, "%s key rotated to version %d; %d batch data keys rewrapped, %d left on older versions (still readable)\n", store, v, rewrapped, skipped)
		return nil
	})
}

var _ = bytes.NewReader
