package workspaces

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"hdw/configs"
	"hdw/criteria"
	"hdw/keys"
	"hdw/objstore"
	"hdw/pseudo"
	"hdw/tables"
	"hdw/warehouse"
)

// Keys is what workspaces need from the key provider.
type Keys interface {
	warehouse.KeySource
	PseudonymKey(ctx context.Context, name string) (keys.Secret, error)
	CreateKey(ctx context.Context, name string) error
	DestroyKey(ctx context.Context, name string) error
}

// Errors callers branch on.
var (
	ErrNoApproval = errors.New("workspace: an approval reference of the scientific and ethics committee is required (CNIL 3.2.3.1)")
	ErrExpired    = errors.New("workspace: expired; the project's access has ended")
	ErrRevoked    = errors.New("workspace: revoked")
	ErrNotFound   = errors.New("workspace: no such workspace")
	ErrColumn     = errors.New("workspace: column not allowed")
)

// Descriptor is workspaces/<project>/workspace.json.
type Descriptor struct {
	Project  string    `json:"project"`
	Approval string    `json:"approval"`
	Created  time.Time `json:"created"`
	Expires  time.Time `json:"expires"`
	Columns  []string  `json:"columns"`
	Where    string    `json:"where,omitempty"`
	Cohort   string    `json:"cohort,omitempty"`
	Curator  string    `json:"curator"`
	Status   string    `json:"status"` // active, revoked
	Patients int       `json:"patients"`
	Rows     int       `json:"rows"`
	Images   int       `json:"images"`
	Bytes    int64     `json:"bytes"`
	Batches  []string  `json:"batches"` // warehouse batches included (refresh adds the others)
	Reviewed time.Time `json:"reviewed"`
}

// Spec is a creation request.
type Spec struct {
	Project, Approval, Where, Cohort, Curator string
	Columns                                   []string
	Expires                                   time.Time
	Dict                                      *configs.Dictionary
	Now                                       time.Time
	// Exclude are warehouse pseudonyms left out (GDPR art. 18
	// restriction; rights.Restricted), wired by cmd/hdw (issue 21).
	Exclude map[string]bool
}

func prefix(p string) string { return "workspaces/" + p + "/" }

// Load reads a workspace descriptor.
func Load(ctx context.Context, st objstore.Store, project string) (*Descriptor, error) {
	var d Descriptor
	if err := objstore.ReadJSON(ctx, st, prefix(project)+"workspace.json", 1<<20, &d); err != nil {
		if errors.Is(err, objstore.ErrNotExist) {
			return nil, ErrNotFound
		}
		return nil, err
	}
	return &d, nil
}

// List returns every workspace descriptor.
func List(ctx context.Context, st objstore.Store) ([]Descriptor, error) {
	var out []Descriptor
	for info, err := range st.List(ctx, "workspaces/") {
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(info.Key, "/workspace.json") {
			var d Descriptor
			if err := objstore.ReadJSON(ctx, st, info.Key, 1<<20, &d); err == nil {
				out = append(out, d)
			}
		}
	}
	return out, nil
}

// checkColumns refuses identifying, attribute, import and professional
// columns (SEC-ESP-2: minimization; identity stays in the identity store).
func checkColumns(d *configs.Dictionary, cols []string) error {
	if len(cols) == 0 {
		return fmt.Errorf("%w: select the columns the project needs with --columns", ErrColumn)
	}
	for _, c := range cols {
		col, ok := d.Lookup(c)
		if !ok {
			return fmt.Errorf("%w: %s is not in the data dictionary", ErrColumn, c)
		}
		switch col.Category {
		case configs.CatHealth, configs.CatDerived, configs.CatFreeText, configs.CatGenetic:
		default:
			return fmt.Errorf("%w: %s is %s data and never enters a workspace", ErrColumn, c, col.Category)
		}
	}
	return nil
}

func token() string {
	b := make([]byte, 20)
	rand.Read(b)
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// Manifest lists the SHA-256 of every file's plaintext, signed.
type Manifest struct {
	Files map[string]string `json:"files"`
	MAC   string            `json:"mac"`
}

func (m *Manifest) sign(key []byte) string {
	names := make([]string, 0, len(m.Files))
	for n := range m.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := hmac.New(sha256.New, key)
	for _, n := range names {
		fmt.Fprintf(h, "%s %s\n", n, m.Files[n])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func pseudoName(d *Descriptor) string {
	if d.Cohort != "" {
		return keys.PseudoCohort(d.Cohort)
	}
	return keys.PseudoWorkspace(d.Project)
}

// WhereSchema is what a workspace --where may read: the health and derived
// columns of the dictionary (SEC-ESP-2), typed.
func WhereSchema(d *configs.Dictionary) *criteria.Schema {
	return criteria.FromDictionary(d, []string{configs.CatHealth, configs.CatDerived})
}

// Create builds the workspace (curator). It returns the descriptor.
func Create(ctx context.Context, wh *warehouse.Warehouse, k Keys, s Spec) (*Descriptor, error) {
	if !keys.ValidProject(s.Project) {
		return nil, errors.New("workspace: project must be 1-64 of a-z, 0-9, '-', '_'")
	}
	if strings.TrimSpace(s.Approval) == "" {
		return nil, ErrNoApproval
	}
	if s.Cohort != "" && !keys.ValidProject(s.Cohort) {
		return nil, errors.New("workspace: cohort must be 1-64 of a-z, 0-9, '-', '_'")
	}
	if err := checkColumns(s.Dict, s.Columns); err != nil {
		return nil, err
	}
	var where *criteria.Criterion
	if s.Where != "" {
		var err error
		if where, err = criteria.Compile(s.Where, WhereSchema(s.Dict)); err != nil {
			return nil, fmt.Errorf("workspace --where: %w", err)
		}
		s.Where = where.String()
	}
	if _, err := Load(ctx, wh.St, s.Project); err == nil {
		return nil, fmt.Errorf("workspace %s already exists", s.Project)
	}
	if s.Now.IsZero() {
		s.Now = time.Now().UTC()
	}
	if s.Expires.IsZero() {
		s.Expires = s.Now.AddDate(1, 0, 0)
	}
	d := &Descriptor{Project: s.Project, Approval: s.Approval, Created: s.Now, Expires: s.Expires, Columns: s.Columns,
		Where: s.Where, Cohort: s.Cohort, Curator: s.Curator, Status: "active", Reviewed: s.Now}
	if err := k.CreateKey(ctx, keys.Workspace(s.Project)); err != nil {
		return nil, fmt.Errorf("create workspace key: %w", err)
	}
	if err := k.CreateKey(ctx, pseudoName(d)); err != nil {
		return nil, fmt.Errorf("create workspace pseudonym key: %w", err)
	}
	deks, err := wh.NewBatchKeys(ctx, "ws-"+d.Project, []string{keys.Workspace(d.Project)}, false)
	if err != nil {
		return nil, err
	}
	wdek := deks[keys.Workspace(d.Project)]
	defer wdek.Wipe()
	if err := fill(ctx, wh, k, d, where, s.Dict, wdek, nil, nil, &Manifest{Files: map[string]string{}}, s.Exclude); err != nil {
		return nil, err
	}
	return d, objstore.WriteJSON(ctx, wh.St, prefix(s.Project)+"workspace.json", d)
}

// Refresh adds the rows of batches committed since the workspace was built
// (or last refreshed) that match its filter, keeping every pseudonym.
func Refresh(ctx context.Context, wh *warehouse.Warehouse, k Keys, project string, dict *configs.Dictionary) (*Descriptor, int, error) {
	return RefreshExcluding(ctx, wh, k, project, dict, nil)
}

// RefreshExcluding is Refresh leaving out the rows of the warehouse
// pseudonyms in exclude (GDPR art. 18 restriction, issue 21).
func RefreshExcluding(ctx context.Context, wh *warehouse.Warehouse, k Keys, project string, dict *configs.Dictionary, exclude map[string]bool) (*Descriptor, int, error) {
	d, err := Load(ctx, wh.St, project)
	if err != nil {
		return nil, 0, err
	}
	if d.Status != "active" {
		return d, 0, ErrRevoked
	}
	var where *criteria.Criterion
	if d.Where != "" {
		if where, err = criteria.Compile(d.Where, WhereSchema(dict)); err != nil {
			return d, 0, err
		}
	}
	wdek, err := wh.DataKey(ctx, "ws-"+project, keys.Workspace(project))
	if err != nil {
		return d, 0, err
	}
	defer wdek.Wipe()
	var man Manifest
	if err := objstore.ReadJSON(ctx, wh.St, prefix(project)+"manifest.json", 64<<20, &man); err != nil {
		return d, 0, err
	}
	// The rows already in the workspace are kept as they are; a table that
	// cannot be read stops the refresh rather than dropping them.
	read := func(name string, optional bool) ([]map[string]string, error) {
		var rows []map[string]string
		_, err := tables.ScanObject(ctx, wh.St, prefix(project)+name, wdek, tables.Query{}, func(r *tables.Row) error {
			rows = append(rows, r.Map(nil))
			return nil
		})
		if err != nil && !(optional && errors.Is(err, objstore.ErrNotExist)) {
			return nil, fmt.Errorf("read workspace table: %w", err)
		}
		return rows, nil
	}
	recs, err := read("records.parquet", false)
	if err != nil {
		return d, 0, err
	}
	gens, err := read("genetic.parquet", true)
	if err != nil {
		return d, 0, err
	}
	before := d.Rows
	if err := fill(ctx, wh, k, d, where, dict, wdek, recs, gens, &man, exclude); err != nil {
		return d, 0, err
	}
	return d, d.Rows - before, objstore.WriteJSON(ctx, wh.St, prefix(project)+"workspace.json", d)
}

// fill copies the matching data of the committed batches not yet in d
// into the workspace, after the rows it already holds.
func fill(ctx context.Context, wh *warehouse.Warehouse, k Keys, d *Descriptor, where *criteria.Criterion, dict *configs.Dictionary,
	wdek keys.Secret, recs, gens []map[string]string, man *Manifest, exclude map[string]bool) error {
	ps, err := k.PseudonymKey(ctx, pseudoName(d))
	if err != nil {
		return err
	}
	defer ps.Wipe()
	keyed, err := pseudo.New(ps)
	if err != nil {
		return err
	}
	var healthCols, geneticCols []string
	for _, c := range dictOrder(dict, d.Columns) {
		if col, _ := dict.Lookup(c); col.Category == configs.CatGenetic {
			geneticCols = append(geneticCols, c)
		} else {
			healthCols = append(healthCols, c)
		}
	}
	recCols := append([]string{"pseudonym", "image"}, healthCols...)
	patients := map[string]bool{}
	// Records stream into the (encrypted) table; the plaintext hash goes to
	// the manifest. Rows already in the workspace (refresh) come first.
	tw, err := tables.Create(ctx, wh.St, prefix(d.Project)+"records.parquet", wdek, tables.Modular, tables.FromDictionary(dict, recCols))
	if err != nil {
		return err
	}
	defer tw.Abort() // no-op once published
	nrows := 0
	for _, r := range recs {
		patients[r["pseudonym"]] = true
		if err := tw.AppendMap(r); err != nil {
			return err
		}
		nrows++
	}
	done := map[string]bool{}
	for _, b := range d.Batches {
		done[b] = true
	}
	selected := map[string]string{} // warehouse record_id -> workspace pseudonym
	cs, err := wh.Commits(ctx)
	if err != nil {
		return err
	}
	for _, c := range cs {
		if done[c.Batch] {
			continue
		}
		hdek, err := wh.DataKey(ctx, c.Batch, keys.Health)
		if err != nil {
			return err
		}
		err = scanTables(ctx, wh.St, c.Objects, "health/records/", hdek, func(row map[string]string) error {
			if (where != nil && !where.Match(row)) || exclude[row["pseudonym"]] {
				return nil
			}
			wp := keyed.Rekey(pseudo.DomainWorkspace, row["pseudonym"])
			rec := map[string]string{"pseudonym": wp}
			for _, col := range healthCols {
				rec[col] = row[col]
			}
			if ik := row["image_key"]; ik != "" {
				name := "images/" + token() + imageExt(row["image_format"]) // keeps its extension (issue 23)
				sum, n, err := copyImage(ctx, wh, ik, hdek, prefix(d.Project)+name, wdek, row["image_format"], keyed, wp)
				if err != nil {
					return err
				}
				rec["image"] = name
				man.Files[name] = sum
				d.Images++
				d.Bytes += n
			}
			if err := tw.AppendMap(rec); err != nil {
				return err
			}
			nrows++
			patients[wp] = true
			selected[row["record_id"]] = wp
			return nil
		})
		hdek.Wipe()
		if err != nil {
			return err
		}
		if len(geneticCols) > 0 { // SEC-LOG-6: only when selected, only by the curator
			gdek, err := wh.DataKey(ctx, c.Batch, keys.Genetic)
			if err != nil {
				return err
			}
			err = scanTables(ctx, wh.St, c.Objects, "genetic/", gdek, func(row map[string]string) error {
				if wp, ok := selected[row["record_id"]]; ok {
					g := map[string]string{"pseudonym": wp}
					for _, col := range geneticCols {
						g[col] = row[col]
					}
					gens = append(gens, g)
				}
				return nil
			})
			gdek.Wipe()
			if err != nil {
				return fmt.Errorf("read genetic table: %w", err)
			}
		}
		d.Batches = append(d.Batches, c.Batch)
	}
	obj, err := tw.Close()
	if err != nil {
		return err
	}
	man.Files["records.parquet"] = obj.SHA256
	if len(geneticCols) > 0 {
		sum, err := writeTable(ctx, wh.St, prefix(d.Project)+"genetic.parquet", wdek, tables.FromDictionary(dict, append([]string{"pseudonym"}, geneticCols...)), gens)
		if err != nil {
			return err
		}
		man.Files["genetic.parquet"] = sum
	}
	d.Rows, d.Patients = nrows, len(patients)
	man.MAC = man.sign(ps.Bytes())
	return objstore.WriteJSON(ctx, wh.St, prefix(d.Project)+"manifest.json", man)
}

// dictOrder returns cols in data dictionary order (issue 17), unknown
// names last in their given order.
func dictOrder(d *configs.Dictionary, cols []string) []string {
	rank := map[string]int{}
	for i, c := range d.Columns {
		rank[c.Name] = i
	}
	out := append([]string(nil), cols...)
	sort.SliceStable(out, func(i, j int) bool {
		ri, ok := rank[out[i]]
		if !ok {
			ri = len(d.Columns)
		}
		rj, ok := rank[out[j]]
		if !ok {
			rj = len(d.Columns)
		}
		return ri < rj
	})
	return out
}

const maxImage = 1 << 30
