// The workspace index: [rights.WorkspaceIndex] over the workspaces'
// layout, so that erasure and re-pseudonymization (SEC-REI-3, SEC-REI-4)
// reach the copies in workspaces. Erasure and re-pseudonymization rewrite
// the tables, delete or rewrite the images and re-seal the manifest, so
// that [Verify] stays clean.

package workspaces

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"

	"hdw/keys"
	"hdw/objstore"
	"hdw/pseudo"
	"hdw/rights"
	"hdw/tables"
	"hdw/warehouse"
)

// IndexKeys is what the index needs from the key provider (dpo profile:
// workspace store keys and workspace pseudonym keys).
type IndexKeys interface {
	warehouse.KeySource
	PseudonymKey(ctx context.Context, name string) (keys.Secret, error)
}

// Index is a [rights.WorkspaceIndex] over the workspaces of a warehouse.
type Index struct {
	wh *warehouse.Warehouse
	k  IndexKeys
}

var _ rights.WorkspaceIndex = (*Index)(nil)

// NewIndex returns the index of wh's workspaces.
func NewIndex(wh *warehouse.Warehouse, k IndexKeys) *Index { return &Index{wh: wh, k: k} }

// Projects lists the active workspaces (revoked ones hold no data).
func (x *Index) Projects(ctx context.Context) ([]string, error) {
	ds, err := List(ctx, x.wh.St)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range ds {
		if d.Status != "revoked" {
			out = append(out, d.Project)
		}
	}
	sort.Strings(out)
	return out, nil
}

// ws is one opened workspace.
type ws struct {
	d     *Descriptor
	pk    *pseudo.Keyed
	psKey keys.Secret
	dek   keys.Secret
}

func (w *ws) close() { w.pk.Wipe(); w.psKey.Wipe(); w.dek.Wipe() }

func (w *ws) rekey(p string) string { return w.pk.Rekey(pseudo.DomainWorkspace, p) }

func (x *Index) open(ctx context.Context, project string) (*ws, error) {
	d, err := Load(ctx, x.wh.St, project)
	if err != nil {
		return nil, err
	}
	if d.Status == "revoked" {
		return nil, ErrRevoked
	}
	sec, err := x.k.PseudonymKey(ctx, pseudoName(d))
	if err != nil {
		return nil, fmt.Errorf("workspace %s pseudonym key: %w", project, err)
	}
	pk, err := pseudo.New(sec)
	if err != nil {
		sec.Wipe()
		return nil, err
	}
	dek, err := x.wh.DataKey(ctx, "ws-"+project, keys.Workspace(project))
	if err != nil {
		sec.Wipe()
		pk.Wipe()
		return nil, fmt.Errorf("workspace %s data key: %w", project, err)
	}
	return &ws{d: d, pk: pk, psKey: sec, dek: dek}, nil
}

type tbl struct {
	name string
	cols *tables.Schema
	rows []map[string]string
	ok   bool
}

func (x *Index) read(ctx context.Context, w *ws, name string) (*tbl, error) {
	t := &tbl{name: name}
	key := prefix(w.d.Project) + name
	if _, err := x.wh.St.Stat(ctx, key); errors.Is(err, objstore.ErrNotExist) {
		return t, nil
	}
	cols, err := tables.ScanObject(ctx, x.wh.St, key, w.dek, tables.Query{}, func(r *tables.Row) error {
		t.rows = append(t.rows, r.Map(nil))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read workspace %s %s: %w", w.d.Project, name, err)
	}
	t.cols, t.ok = cols, true
	return t, nil
}

// write re-encrypts a table and returns its plaintext SHA-256.
func (x *Index) write(ctx context.Context, w *ws, t *tbl) (string, error) {
	return writeTable(ctx, x.wh.St, prefix(w.d.Project)+t.name, w.dek, t.cols, t.rows)
}

// Find counts the workspace records of the person.
func (x *Index) Find(ctx context.Context, project string, pseudonyms []string) (int, error) {
	w, err := x.open(ctx, project)
	if errors.Is(err, ErrRevoked) || errors.Is(err, ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer w.close()
	set := map[string]bool{}
	for _, p := range pseudonyms {
		set[w.rekey(p)] = true
	}
	t, err := x.read(ctx, w, "records.parquet")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range t.rows {
		if set[r["pseudonym"]] {
			n++
		}
	}
	return n, nil
}

// Resolve maps a workspace pseudonym back to a warehouse pseudonym.
func (x *Index) Resolve(ctx context.Context, project, wsPseudonym string, candidates []string) (string, error) {
	w, err := x.open(ctx, project)
	if err != nil {
		return "", err
	}
	defer w.close()
	for _, c := range candidates {
		if hmac.Equal([]byte(w.rekey(c)), []byte(wsPseudonym)) {
			return c, nil
		}
	}
	return "", nil
}

func (x *Index) manifest(ctx context.Context, w *ws) (*Manifest, error) {
	var m Manifest
	if err := objstore.ReadJSON(ctx, x.wh.St, prefix(w.d.Project)+"manifest.json", 64<<20, &m); err != nil {
		return nil, err
	}
	if m.Files == nil {
		m.Files = map[string]string{}
	}
	return &m, nil
}

func (x *Index) hashObject(ctx context.Context, key string) (string, int64) {
	r, err := x.wh.St.Open(ctx, key)
	if err != nil {
		return "", 0
	}
	defer r.Close()
	h := sha256.New()
	n, _ := io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil)), n
}

// Erase removes the person's records, genetic rows and images from the
// workspace, re-seals its manifest and updates its descriptor counts.
func (x *Index) Erase(ctx context.Context, project string, pseudonyms []string) (rights.ObjectsProof, error) {
	var pr rights.ObjectsProof
	w, err := x.open(ctx, project)
	if err != nil {
		return pr, err
	}
	defer w.close()
	set := map[string]bool{}
	for _, p := range pseudonyms {
		set[w.rekey(p)] = true
	}
	man, err := x.manifest(ctx, w)
	if err != nil {
		return pr, err
	}
	var imgs []string
	for _, name := range []string{"records.parquet", "genetic.parquet"} {
		t, err := x.read(ctx, w, name)
		if err != nil {
			return pr, err
		}
		if !t.ok {
			continue
		}
		var kept []map[string]string
		removed := 0
		for _, r := range t.rows {
			if set[r["pseudonym"]] {
				removed++
				if im := r["image"]; im != "" {
					imgs = append(imgs, im)
				}
				continue
			}
			kept = append(kept, r)
		}
		if removed == 0 {
			continue
		}
		key := prefix(project) + name
		before, bsize := x.hashObject(ctx, key)
		t.rows = kept
		sum, err := x.write(ctx, w, t)
		if err != nil {
			return pr, fmt.Errorf("rewrite workspace %s %s: %w", project, name, err)
		}
		man.Files[name] = sum
		after, asize := x.hashObject(ctx, key)
		pr.Objects = append(pr.Objects, rights.ObjectProof{Key: key, Store: keys.Workspace(project), Action: "rewritten",
			RowsRemoved: removed, RowsLeft: len(kept), SHA256Before: before, SizeBefore: bsize, SHA256After: after, SizeAfter: asize})
		if name == "records.parquet" {
			pr.Rows += removed
			w.d.Rows = len(kept)
			pats := map[string]bool{}
			for _, r := range kept {
				pats[r["pseudonym"]] = true
			}
			w.d.Patients = len(pats)
		}
	}
	for _, im := range imgs {
		key := prefix(project) + im
		sum, size := x.hashObject(ctx, key)
		if r, err := warehouse.OpenEncrypted(ctx, x.wh.St, key, w.dek); err == nil {
			n, _ := io.Copy(io.Discard, r)
			r.Close()
			w.d.Bytes -= n
		}
		if err := x.wh.St.Delete(ctx, key); err != nil {
			return pr, fmt.Errorf("delete a workspace image: %w", err)
		}
		delete(man.Files, im)
		w.d.Images--
		pr.Objects = append(pr.Objects, rights.ObjectProof{Key: key, Store: keys.Workspace(project), Action: "deleted", SHA256Before: sum, SizeBefore: size})
	}
	if len(pr.Objects) == 0 {
		return pr, nil
	}
	if err := x.reseal(ctx, w, man, &pr); err != nil {
		return pr, err
	}
	return pr, nil
}

// reseal writes the re-signed manifest and the descriptor.
func (x *Index) reseal(ctx context.Context, w *ws, man *Manifest, pr *rights.ObjectsProof) error {
	key := prefix(w.d.Project) + "manifest.json"
	before, bsize := x.hashObject(ctx, key)
	man.MAC = man.sign(w.psKey.Bytes())
	if err := objstore.WriteJSON(ctx, x.wh.St, key, man); err != nil {
		return fmt.Errorf("re-seal workspace %s manifest: %w", w.d.Project, err)
	}
	after, asize := x.hashObject(ctx, key)
	if pr != nil {
		pr.Objects = append(pr.Objects, rights.ObjectProof{Key: key, Store: "workspace-manifest", Action: "rewritten",
			SHA256Before: before, SizeBefore: bsize, SHA256After: after, SizeAfter: asize})
	}
	return objstore.WriteJSON(ctx, x.wh.St, prefix(w.d.Project)+"workspace.json", w.d)
}

// Rename re-pseudonymizes a person in the workspace after a rectification:
// the workspace pseudonym of the old warehouse pseudonym becomes that of the
// new one in both tables, and the warehouse pseudonym embedded in the
// workspace's images is replaced.
func (x *Index) Rename(ctx context.Context, project, oldPseudonym, newPseudonym string) (int, error) {
	w, err := x.open(ctx, project)
	if err != nil {
		return 0, err
	}
	defer w.close()
	o, n := w.rekey(oldPseudonym), w.rekey(newPseudonym)
	man, err := x.manifest(ctx, w)
	if err != nil {
		return 0, err
	}
	changed := 0
	var imgs []string
	for _, name := range []string{"records.parquet", "genetic.parquet"} {
		t, err := x.read(ctx, w, name)
		if err != nil {
			return changed, err
		}
		c := 0
		for _, r := range t.rows {
			if r["pseudonym"] == o {
				r["pseudonym"] = n
				c++
				if im := r["image"]; im != "" {
					imgs = append(imgs, im)
				}
			}
		}
		if c == 0 {
			continue
		}
		sum, err := x.write(ctx, w, t)
		if err != nil {
			return changed, err
		}
		man.Files[name] = sum
		if name == "records.parquet" {
			changed += c
		}
	}
	for _, im := range imgs {
		sum, err := x.rewriteImage(ctx, w, prefix(project)+im, oldPseudonym, newPseudonym)
		if err != nil {
			return changed, err
		}
		man.Files[im] = sum
	}
	if changed == 0 {
		return 0, nil
	}
	return changed, x.reseal(ctx, w, man, nil)
}

// rewriteImage replaces the embedded warehouse pseudonym of a workspace
// image (streamed; the object is replaced on close).
func (x *Index) rewriteImage(ctx context.Context, w *ws, key, old, new string) (string, error) {
	r, err := warehouse.OpenEncrypted(ctx, x.wh.St, key, w.dek)
	if err != nil {
		return "", err
	}
	defer r.Close()
	out, err := warehouse.CreateEncrypted(ctx, x.wh.St, key, w.dek)
	if err != nil {
		return "", err
	}
	hc := objstore.NewDigest(out)
	rw := rights.NewReplaceWriter(hc, []byte(old), []byte(new))
	if _, err := io.Copy(rw, r); err != nil {
		objstore.Abort(out)
		return "", err
	}
	if err := rw.Flush(); err != nil {
		objstore.Abort(out)
		return "", err
	}
	if err := out.Close(); err != nil {
		return "", err
	}
	return hc.Sum(), nil
}
