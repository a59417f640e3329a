package workspaces

// The researcher's and the curator's side of a built workspace: pull,
// verify, revoke, and the yearly review.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"hdw/keys"
	"hdw/objstore"
	"hdw/tables"
	"hdw/warehouse"
)

// Pull writes the decrypted workspace to dir (researcher:<project>),
// checking every file against the manifest.
func Pull(ctx context.Context, wh *warehouse.Warehouse, project, dir string, now time.Time) (*Descriptor, error) {
	d, err := Load(ctx, wh.St, project)
	if err != nil {
		return nil, err
	}
	if d.Status == "revoked" {
		return d, ErrRevoked
	}
	if now.After(d.Expires) {
		return d, ErrExpired
	}
	dek, err := wh.DataKey(ctx, "ws-"+project, keys.Workspace(project))
	if err != nil {
		return d, err
	}
	defer dek.Wipe()
	var man Manifest
	if err := objstore.ReadJSON(ctx, wh.St, prefix(project)+"manifest.json", 64<<20, &man); err != nil {
		return d, err
	}
	for name, sum := range man.Files {
		out := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
			return d, err
		}
		if isTable(name) {
			if err := pullTable(ctx, wh.St, prefix(project)+name, dek, sum, out); err != nil {
				return d, fmt.Errorf("workspace file %s: %w", name, err)
			}
			continue
		}
		r, err := warehouse.OpenEncrypted(ctx, wh.St, prefix(project)+name, dek)
		if err != nil {
			return d, err
		}
		f, err := os.OpenFile(out, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			r.Close()
			return d, err
		}
		h := sha256.New()
		_, err = io.Copy(io.MultiWriter(f, h), r)
		r.Close()
		f.Close()
		if err != nil {
			return d, err
		}
		if hex.EncodeToString(h.Sum(nil)) != sum {
			return d, fmt.Errorf("workspace file %s does not match the signed manifest", name)
		}
	}
	return d, nil
}

// isTable reports whether a workspace file is a table (not an image).
func isTable(name string) bool {
	return !strings.Contains(name, "/") && strings.HasSuffix(name, ".parquet")
}

// pullTable checks a stored workspace table against its manifest hash (of
// the stored Parquet file) and writes it decrypted, typed as stored, to
// out. A workspace built before issue 17 (all-string table in the
// envelope) is written as it was.
func pullTable(ctx context.Context, st objstore.Store, key string, dek keys.Secret, sum, out string) error {
	t, err := tables.OpenObject(ctx, st, key, dek)
	if err != nil {
		return err
	}
	defer t.Close()
	if h, _, err := t.SHA256(); err != nil {
		return err
	} else if h != sum {
		return errors.New("does not match the signed manifest")
	}
	f, err := os.OpenFile(out, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if !t.Modular() {
		_, err = io.Copy(f, t.Source())
		return errors.Join(err, f.Close())
	}
	s, err := tables.SchemaOf(t.Source(), t.Key())
	if err != nil {
		f.Close()
		return err
	}
	w, err := tables.NewWriter(f, s, tables.WriterOptions{})
	if err != nil {
		f.Close()
		return err
	}
	if _, err := tables.Scan(ctx, t.Source(), tables.Query{Key: t.Key()}, w.AppendRow); err != nil {
		f.Close()
		return err
	}
	return errors.Join(w.Close(), f.Close())
}

// Verify recomputes every file hash and the manifest MAC (curator).
func Verify(ctx context.Context, wh *warehouse.Warehouse, k Keys, project string) ([]string, error) {
	d, err := Load(ctx, wh.St, project)
	if err != nil {
		return nil, err
	}
	var man Manifest
	if err := objstore.ReadJSON(ctx, wh.St, prefix(project)+"manifest.json", 64<<20, &man); err != nil {
		return nil, err
	}
	ps, err := k.PseudonymKey(ctx, pseudoName(d))
	if err != nil {
		return nil, err
	}
	defer ps.Wipe()
	var problems []string
	if !hmac.Equal([]byte(man.sign(ps.Bytes())), []byte(man.MAC)) {
		problems = append(problems, "manifest signature does not match (manifest edited)")
	}
	dek, err := wh.DataKey(ctx, "ws-"+project, keys.Workspace(project))
	if err != nil {
		return nil, err
	}
	defer dek.Wipe()
	names := make([]string, 0, len(man.Files))
	for n := range man.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if isTable(n) {
			sum, _, err := tables.DigestObject(ctx, wh.St, prefix(project)+n, dek)
			if err != nil {
				problems = append(problems, n+": missing or unreadable")
			} else if sum != man.Files[n] {
				problems = append(problems, n+": changed")
			}
			continue
		}
		r, err := warehouse.OpenEncrypted(ctx, wh.St, prefix(project)+n, dek)
		if err != nil {
			problems = append(problems, n+": missing or unreadable")
			continue
		}
		h := sha256.New()
		_, err = io.Copy(h, r)
		r.Close()
		if err != nil || hex.EncodeToString(h.Sum(nil)) != man.Files[n] {
			problems = append(problems, n+": changed")
		}
	}
	for info, err := range wh.St.List(ctx, prefix(project)+"images/") {
		if err == nil {
			if _, ok := man.Files[strings.TrimPrefix(info.Key, prefix(project))]; !ok {
				problems = append(problems, strings.TrimPrefix(info.Key, prefix(project))+": not in the manifest")
			}
		}
	}
	return problems, nil
}

// Revoke destroys the workspace keys and deletes its data (SEC-HAB-6).
func Revoke(ctx context.Context, wh *warehouse.Warehouse, k Keys, project string, now time.Time) (*Descriptor, error) {
	d, err := Load(ctx, wh.St, project)
	if err != nil {
		return nil, err
	}
	if err := k.DestroyKey(ctx, keys.Workspace(project)); err != nil && !errors.Is(err, keys.ErrKeyNotFound) {
		return d, err
	}
	if d.Cohort == "" {
		if err := k.DestroyKey(ctx, keys.PseudoWorkspace(project)); err != nil && !errors.Is(err, keys.ErrKeyNotFound) {
			return d, err
		}
	}
	for info, err := range wh.St.List(ctx, prefix(project)) {
		if err != nil {
			return d, err
		}
		if !strings.HasSuffix(info.Key, "/workspace.json") {
			if err := wh.St.Delete(ctx, info.Key); err != nil {
				return d, err
			}
		}
	}
	wh.St.Delete(ctx, warehouse.BatchKeysKey("ws-"+project))
	d.Status, d.Expires = "revoked", now
	return d, objstore.WriteJSON(ctx, wh.St, prefix(project)+"workspace.json", d)
}

// Due lists active workspaces due for their yearly access review or past
// their end (SEC-HAB-5).
func Due(ds []Descriptor, now time.Time) []Descriptor {
	var out []Descriptor
	for _, d := range ds {
		if d.Status == "active" && (now.After(d.Expires) || now.After(d.Reviewed.AddDate(1, 0, 0))) {
			out = append(out, d)
		}
	}
	return out
}
