package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"hdw/configs"
	"hdw/keys"
	"hdw/objstore"
)

func (g *globals) setup(cmd *cobra.Command) error {
	if g.warehouse == "" {
		g.warehouse = g.getenv("HDW_WAREHOUSE")
	}
	if g.profile == "" {
		g.profile = g.getenv("HDW_PROFILE")
	}
	if g.config == "" {
		g.config = g.getenv("HDW_CONFIG")
	}
	level := slog.LevelWarn
	if g.verbose {
		level = slog.LevelDebug
	}
	g.logger = slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level}))
	cfg := configs.Defaults()
	if g.config != "" {
		var err error
		if cfg, err = parseFile(g.config, "config", configs.Parse); err != nil {
			return err
		}
	}
	if g.warehouse == "" {
		g.warehouse = cfg.Warehouse
	}
	if g.warehouse == "" {
		g.warehouse = "./hdw-data"
	}
	g.cfg = cfg
	g.dict = configs.DefaultDictionary()
	if cfg.Dictionary != "" {
		d, err := parseFile(cfg.Dictionary, "dictionary", configs.ParseDictionary)
		if err != nil {
			return err
		}
		g.dict = d
	}
	return nil
}

// parseFile parses the file at path: a file that does not open is a
// usage error naming what it is, a parse error a usage error as it is.
func parseFile[T any](path, what string, parse func(io.Reader) (T, error)) (T, error) {
	f, err := os.Open(path)
	if err != nil {
		var zero T
		return zero, usageErr("%s: %v", what, err)
	}
	defer f.Close()
	v, err := parse(f)
	if err != nil {
		return v, usageErr("%v", err)
	}
	return v, nil
}

// requireProfile checks that a profile is set and is one of allowed.
func (g *globals) requireProfile(allowed ...string) error {
	if g.profile == "" {
		return usageErr("no profile: pass --profile or set HDW_PROFILE (one of %s)", strings.Join(allowed, ", "))
	}
	if !keys.KnownProfile(g.profile) {
		return usageErr("unknown profile %q", g.profile)
	}
	for _, a := range allowed {
		if a == g.profile || (a == "researcher:*" && strings.HasPrefix(g.profile, "researcher:")) {
			return nil
		}
	}
	g.auditRefused("profile not allowed for this command") // SEC-DAY-1, issue 22
	return &exitError{code: exitFailure, err: fmt.Errorf("profile %s may not run this command (allowed: %s)", g.profile, strings.Join(allowed, ", "))}
}

// openStore opens a local folder or an s3:// URL.
func (g *globals) openStore(ctx context.Context, loc string) (objstore.Store, error) {
	if strings.HasPrefix(loc, "s3://") {
		return g.openS3(ctx, loc)
	}
	return objstore.NewLocal(loc)
}

// openSourceStore opens an ingest source without creating a missing folder.
func (g *globals) openSourceStore(ctx context.Context, loc string) (objstore.Store, error) {
	if strings.HasPrefix(loc, "s3://") {
		return g.openS3(ctx, loc)
	}
	// An upload folder is untrusted: only regular files inside it (issue 23).
	return objstore.NewSource(loc)
}

// credentialsDir is where the embedded keyring's profile passphrases live
// (one file per profile, mode 0600): HDW_CREDENTIALS or ./hdw-credentials.
func (g *globals) credentialsDir() string {
	if d := g.getenv("HDW_CREDENTIALS"); d != "" {
		return d
	}
	return "hdw-credentials"
}

func profileFile(profile string) string { return strings.ReplaceAll(profile, ":", "_") }

// passphrase reads the profile's passphrase: HDW_PASSPHRASE_FILE, else
// HDW_PASSPHRASE, else <credentials dir>/<profile>. Never from a flag.
func (g *globals) passphrase(profile string) ([]byte, error) {
	if f := g.getenv("HDW_PASSPHRASE_FILE"); f != "" {
		return keys.ReadSecretFile(f)
	}
	if p := g.getenv("HDW_PASSPHRASE"); p != "" {
		return []byte(p), nil
	}
	f := filepath.Join(g.credentialsDir(), profileFile(profile))
	b, err := keys.ReadSecretFile(f)
	if err != nil {
		return nil, fmt.Errorf("no passphrase for profile %s: set HDW_PASSPHRASE_FILE or put it in %s", profile, f)
	}
	return b, nil
}
