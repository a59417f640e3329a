package rights

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"hdw/configs"
	"hdw/keys"
	"hdw/objstore"
	"hdw/pseudo"
	"hdw/warehouse"
)

// RectifyReport describes a rectification. It never holds the old or the
// new value.
type RectifyReport struct {
	Request string `json:"request"`
	Field   string `json:"field"`
	Found   bool   `json:"found"`
	// IdentityRows is the number of identity rows corrected.
	IdentityRows int `json:"identity_rows"`
	// Repseudonymized is true when the pseudonym basis changed the
	// pseudonym; the counts below are what followed.
	Repseudonymized bool           `json:"repseudonymized"`
	Records         int            `json:"records"`
	Images          int            `json:"images"`
	Genetic         int            `json:"genetic"`
	Workspaces      map[string]int `json:"workspaces,omitempty"`
	// WorkspaceMaps are the old -> new workspace pseudonym maps recorded
	// for the owners of the workspaces changed (issue 21), one a
	// workspace; `hdw workspace notices PROJECT` shows them.
	WorkspaceMaps []NoticeRef `json:"workspace_maps,omitempty"`
}

// cleanValue validates and canonicalizes a rectified value by its dictionary type.
func cleanValue(col configs.Column, v string) (string, error) {
	v = strings.TrimSpace(v)
	switch col.Type {
	case "nir":
		if v == "" {
			return "", nil
		}
		n := pseudo.CleanNIR(v)
		if err := pseudo.ValidateNIR(n); err != nil {
			return "", err
		}
		return n, nil
	case "date":
		if v == "" {
			return "", nil
		}
		d, err := pseudo.ParseDate(v)
		if err != nil {
			return "", err
		}
		return d.Format("2006-01-02"), nil
	case "sex":
		return pseudo.NormalizeSex(v)
	}
	return v, nil
}

// Rectify corrects an identifying field of the person in the identity
// store (9.2, right of rectification). When the field is part of the
// pseudonym basis and the pseudonym changes (the NIR is corrected, or a
// name without NIR), the person is re-pseudonymized in every store: health
// records, image paths and the pseudonym embedded in de-identified images
// (PatientID/PatientName, same length, rewritten in place), genetic rows
// and workspaces. The value never appears in the report, logs or errors.
func (s *Service) Rectify(ctx context.Context, req Request, subj Subject, field, value string) (*RectifyReport, error) {
	if err := s.check(req); err != nil {
		return nil, err
	}
	col, ok := s.opt.Dict.Lookup(field)
	if !ok || col.Category != configs.CatIdentifying {
		return nil, ErrField
	}
	field = col.Name
	value, err := cleanValue(col, value)
	if err != nil {
		return nil, fmt.Errorf("rectified %s: %w", field, err)
	}
	d := newDeks(s.wh)
	defer d.wipe()
	p, err := s.resolve(ctx, subj, d)
	if err != nil {
		return nil, err
	}
	if err := s.admit(ctx, req, "rectify", [][]string{p.list()}); err != nil {
		return nil, err
	}
	wk, err := s.warehouseKey(ctx)
	if err != nil {
		return nil, err
	}
	defer wk.Wipe()
	rep := &RectifyReport{Request: req.Ref, Field: field}
	commits, err := s.wh.Commits(ctx)
	if err != nil {
		return nil, err
	}
	rename := map[string]string{}
	// fix rectifies one identity row in place (the field, the basis kind,
	// the pseudonym of the corrected basis) and returns its old and new
	// pseudonyms, "" when the row is not the person's. The identity tables
	// are read once to learn what changes, and rewritten at the end with
	// the same fix, row group by row group (issue 17: never a whole table
	// in memory).
	fix := func(r map[string]string) (old, np string) {
		old = r["pseudonym"]
		if !p.pseudonyms[old] {
			return "", ""
		}
		r[field] = value
		if r["basis_kind"] == "IMPORT" {
			return old, old
		}
		bs := rowBases(r)
		if len(bs) == 0 {
			return old, old
		}
		r["basis_kind"] = bs[0][:3]
		np = wk.Patient(bs[0])
		r["pseudonym"] = np
		return old, np
	}
	errConflict := errors.New("rectify: rows of one pseudonym disagree on the new basis; correct the conflicting fields first")
	var changedTables []*table
	for _, c := range commits {
		n := 0
		t, err := scanTable(ctx, s.wh, d, c.Batch, keys.Identity, warehouse.IdentityTableKey(c.Batch), func(r map[string]string) error {
			old, np := fix(r)
			if old == "" {
				return nil
			}
			n++
			if np == old {
				return nil
			}
			if prev, ok := rename[old]; ok && prev != np {
				return errConflict
			}
			rename[old] = np
			return nil
		})
		if errors.Is(err, errConflict) {
			return nil, errConflict
		}
		if err != nil {
			return nil, err
		}
		rep.IdentityRows += n
		if n > 0 {
			changedTables = append(changedTables, t)
		}
	}
	rep.Found = rep.IdentityRows > 0
	// The other stores follow first and the identity store last, so that an
	// interrupted rectification is rerun with the same request and completes.
	am := amends{}
	if len(rename) > 0 {
		rep.Repseudonymized = true
		if err := s.repseudonymize(ctx, d, am, commits, rename, rep); err != nil {
			return rep, err
		}
	}
	for _, t := range changedTables {
		if err := rewriteTable(ctx, s.wh, d, t, am, func(r map[string]string) (bool, error) {
			fix(r)
			return true, nil
		}); err != nil {
			return rep, fmt.Errorf("rewrite %s: %w", t.key, err)
		}
	}
	var prefixes []string
	for old := range rename {
		prefixes = append(prefixes, imagePrefix(old))
	}
	if _, err := amendCommits(ctx, s.wh, d, am, prefixes); err != nil {
		return rep, err
	}
	return rep, nil
}

// repseudonymize applies old -> new pseudonyms to the health and genetic
// tables, the images and the workspaces.
func (s *Service) repseudonymize(ctx context.Context, d *deks, am amends, commits []warehouse.Commit, rename map[string]string, rep *RectifyReport) error {
	// SEC-LOG-6: refuse before rewriting anything when a genetic table
	// this profile cannot read would keep the old pseudonyms.
	for _, c := range commits {
		key := warehouse.GeneticTableKey(c.Batch)
		if _, err := s.wh.St.Stat(ctx, key); err != nil {
			continue
		}
		if _, err := d.get(ctx, c.Batch, keys.Genetic); errors.Is(err, keys.ErrGeneticReserved) {
			return fmt.Errorf("re-pseudonymizing genetic rows: %w", err)
		}
	}
	imgKeys := map[string]string{}
	for old, np := range rename {
		imgs, err := images(ctx, s.wh.St, old, commits)
		if err != nil {
			return err
		}
		for _, im := range imgs {
			imgKeys[im.Key] = imagePrefix(np) + im.Key[len(imagePrefix(old)):]
		}
	}
	for _, c := range commits {
		for _, tb := range batchTables(c.Batch) {
			if tb.store == keys.Identity {
				continue
			}
			n := 0
			t, err := scanTable(ctx, s.wh, d, c.Batch, tb.store, tb.key, func(r map[string]string) error {
				if _, ok := rename[r["pseudonym"]]; ok {
					n++
				}
				return nil
			})
			if err != nil {
				return err
			}
			if n == 0 {
				continue
			}
			if err := rewriteTable(ctx, s.wh, d, t, am, func(r map[string]string) (bool, error) {
				if np, ok := rename[r["pseudonym"]]; ok {
					r["pseudonym"] = np
					if k, ok := imgKeys[r["image_key"]]; ok {
						r["image_key"] = k
					}
				}
				return true, nil
			}); err != nil {
				return fmt.Errorf("rewrite %s: %w", t.key, err)
			}
			if tb.store == keys.Health {
				rep.Records += n
			} else {
				rep.Genetic += n
			}
		}
	}
	for oldKey, newKey := range imgKeys {
		old := oldKey[len("health/images/"):]
		old = old[:strings.Index(old, "/")]
		if err := s.moveImage(ctx, d, am, oldKey, newKey, old, rename[old]); err != nil {
			return err
		}
		rep.Images++
	}
	if s.opt.Workspaces != nil {
		projects, err := s.opt.Workspaces.Projects(ctx)
		if err != nil {
			return err
		}
		for _, pr := range projects {
			// Issue 21: the old -> new workspace pseudonym map is recorded
			// for the workspace's owner before the workspace changes, so
			// that a rerun after an interruption finds it written.
			held := map[string]string{}
			for old, np := range rename {
				n, err := s.opt.Workspaces.Find(ctx, pr, []string{old})
				if err != nil {
					return fmt.Errorf("re-pseudonymize workspace %s: %w", pr, err)
				}
				if n > 0 {
					held[old] = np
				}
			}
			if len(held) == 0 {
				continue
			}
			ref, err := s.opt.Workspaces.Notify(ctx, pr, WorkspaceNotice{Kind: "rectification", Request: rep.Request, Time: s.opt.Now().UTC(), Renamed: held})
			if err != nil {
				return fmt.Errorf("record the pseudonym map of workspace %s: %w", pr, err)
			}
			rep.WorkspaceMaps = append(rep.WorkspaceMaps, ref)
			for old, np := range held {
				n, err := s.opt.Workspaces.Rename(ctx, pr, old, np)
				if err != nil {
					return fmt.Errorf("re-pseudonymize workspace %s: %w", pr, err)
				}
				if n > 0 {
					if rep.Workspaces == nil {
						rep.Workspaces = map[string]int{}
					}
					rep.Workspaces[pr] += n
				}
			}
		}
	}
	return nil
}

// moveImage re-encrypts an image under its new key (see [MoveImage]).
func (s *Service) moveImage(ctx context.Context, d *deks, am amends, oldKey, newKey, oldPseudo, newPseudo string) error {
	dek, err := d.get(ctx, imageBatch(oldKey), keys.Health)
	if err != nil {
		return err
	}
	ref, err := MoveImage(ctx, s.wh.St, dek, oldKey, newKey, oldPseudo, newPseudo)
	if err != nil {
		return err
	}
	am[oldKey] = &ref
	return nil
}

// MoveImage re-encrypts the health image at oldKey under newKey (the object
// key is the envelope's associated data) with its data key dek, every
// embedded oldPseudo replaced by newPseudo (same length), then deletes the
// old object: re-pseudonymization by rectification or by a key rotation
// (package rotation). It returns the new object's reference (plaintext
// hash and size). A crash leaves the old object, or both (a rerun moves it
// again), never the new one alone half written.
func MoveImage(ctx context.Context, st objstore.Store, dek keys.Secret, oldKey, newKey, oldPseudo, newPseudo string) (warehouse.ObjectRef, error) {
	r, err := warehouse.OpenEncrypted(ctx, st, oldKey, dek)
	if err != nil {
		return warehouse.ObjectRef{}, err
	}
	defer r.Close()
	w, err := warehouse.CreateEncrypted(ctx, st, newKey, dek)
	if err != nil {
		return warehouse.ObjectRef{}, err
	}
	hc := objstore.NewDigest(w)
	rw := newReplaceWriter(hc, []byte(oldPseudo), []byte(newPseudo))
	if _, err := io.Copy(rw, r); err != nil {
		objstore.Abort(w)
		return warehouse.ObjectRef{}, fmt.Errorf("re-pseudonymize an image: %w", err)
	}
	if err := rw.flush(); err != nil {
		objstore.Abort(w)
		return warehouse.ObjectRef{}, err
	}
	if err := w.Close(); err != nil {
		return warehouse.ObjectRef{}, err
	}
	ref := warehouse.ObjectRef{Key: newKey, Store: keys.Health, SHA256: hc.Sum(), Size: hc.N}
	return ref, st.Delete(ctx, oldKey)
}

// ReplaceWriter replaces every occurrence of one byte string by another of
// the same length in a stream (a pseudonym embedded in a de-identified
// image), holding back len(old)-1 bytes between writes. Call Flush at the end.
type ReplaceWriter struct {
	w        io.Writer
	old, new []byte
	buf      []byte
}

// NewReplaceWriter returns a [ReplaceWriter] to w. When old and new differ
// in length, bytes pass unchanged.
func NewReplaceWriter(w io.Writer, old, new []byte) *ReplaceWriter {
	return newReplaceWriter(w, old, new)
}

// Flush writes the bytes held back.
func (r *ReplaceWriter) Flush() error { return r.flush() }

func newReplaceWriter(w io.Writer, old, new []byte) *ReplaceWriter {
	return &ReplaceWriter{w: w, old: old, new: new}
}

func (r *ReplaceWriter) Write(p []byte) (int, error) {
	r.buf = append(r.buf, p...)
	r.replace()
	keep := len(r.old) - 1
	if len(r.buf) > keep {
		n := len(r.buf) - keep
		if _, err := r.w.Write(r.buf[:n]); err != nil {
			return 0, err
		}
		r.buf = append(r.buf[:0], r.buf[n:]...)
	}
	return len(p), nil
}

func (r *ReplaceWriter) replace() {
	if len(r.old) == 0 || len(r.old) != len(r.new) {
		return
	}
	for i := 0; ; {
		j := bytes.Index(r.buf[i:], r.old)
		if j < 0 {
			return
		}
		copy(r.buf[i+j:], r.new)
		i += j + len(r.old)
	}
}

func (r *ReplaceWriter) flush() error {
	r.replace()
	_, err := r.w.Write(r.buf)
	r.buf = r.buf[:0]
	return err
}
