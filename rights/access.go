package rights

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"hdw/keys"
	"hdw/objstore"
	"hdw/tables"
	"hdw/warehouse"
)

// AccessReport describes the package written by [Service.Access]. It holds
// no identifying value.
type AccessReport struct {
	Request  string           `json:"request"`
	Found    bool             `json:"found"`
	Files    []string         `json:"files"`
	Records  int              `json:"records"`
	Identity int              `json:"identity"`
	Genetic  int              `json:"genetic"`
	Images   int              `json:"images"`
	Projects []WorkspaceCount `json:"projects,omitempty"`
}

// Access writes the person's package to out (9.2, right of access,
// SEC-REI-1 extraction for transmission): identity.{parquet,csv},
// health.{parquet,csv}, genetic.{parquet,csv} when any, the de-identified
// images under images/, projects.csv (the projects whose workspaces hold
// the data) and summary.txt. Nothing is written when the person is not found.
func (s *Service) Access(ctx context.Context, req Request, subj Subject, out objstore.Store) (*AccessReport, error) {
	p, d, err := s.begin(ctx, req, subj, "access")
	if err != nil {
		return nil, err
	}
	defer d.wipe()
	loc, err := s.locate(ctx, req, p, d)
	if err != nil {
		return nil, err
	}
	rep := &AccessReport{Request: req.Ref, Found: loc.Found, Projects: loc.Workspaces}
	if !loc.Found {
		return rep, nil
	}
	commits, err := s.wh.Commits(ctx)
	if err != nil {
		return nil, err
	}
	sets := map[string]*rowSet{keys.Health: {}, keys.Identity: {}, keys.Genetic: {}}
	formats := map[string]string{}
	var reserved []string // the person's batches whose genetic table the dpo cannot read (SEC-LOG-6)
	for _, c := range commits {
		for _, tb := range batchTables(c.Batch) {
			rs := sets[tb.store]
			t, err := scanTable(ctx, s.wh, d, c.Batch, tb.store, tb.key, func(r map[string]string) error {
				if p.pseudonyms[r["pseudonym"]] {
					rs.rows = append(rs.rows, maps.Clone(r))
					if k := r["image_key"]; k != "" {
						formats[k] = r["image_format"]
					}
				}
				return nil
			})
			if tb.store == keys.Genetic && errors.Is(err, keys.ErrGeneticReserved) {
				if slices.ContainsFunc(loc.Batches, func(b BatchCount) bool { return b.Batch == c.Batch }) {
					reserved = append(reserved, c.Batch)
				}
				continue
			}
			if err != nil {
				return nil, err
			}
			rs.addColumns(t.schema)
		}
	}
	var delivered func(context.Context) error
	if len(reserved) > 0 {
		// A curator-prepared extract stands for the genetic rows (genetic.go).
		rs, done, err := s.geneticExtractRows(ctx, req, p, reserved)
		if err != nil {
			return nil, err
		}
		sets[keys.Genetic], delivered = rs, done
	}
	for _, f := range []struct{ name, store string }{{"identity", keys.Identity}, {"health", keys.Health}, {"genetic", keys.Genetic}} {
		rs := sets[f.store]
		if len(rs.rows) == 0 && f.store == keys.Genetic {
			continue
		}
		if err := writeParquet(ctx, out, f.name+".parquet", rs); err != nil {
			return nil, err
		}
		if err := writeCSV(ctx, out, f.name+".csv", rs); err != nil {
			return nil, err
		}
		rep.Files = append(rep.Files, f.name+".parquet", f.name+".csv")
	}
	rep.Records, rep.Identity, rep.Genetic = len(sets[keys.Health].rows), len(sets[keys.Identity].rows), len(sets[keys.Genetic].rows)
	for _, ps := range p.list() {
		imgs, err := images(ctx, s.wh.St, ps, commits)
		if err != nil {
			return nil, err
		}
		for _, im := range imgs {
			name := "images/" + im.Key[len(imagePrefix(ps)):] + imageExt(formats[im.Key])
			if err := s.copyImage(ctx, d, im.Key, out, name); err != nil {
				return nil, err
			}
			rep.Files = append(rep.Files, name)
			rep.Images++
		}
	}
	var pj strings.Builder
	pw := csv.NewWriter(&pj)
	pw.Write([]string{"project", "rows"})
	for _, w := range loc.Workspaces {
		pw.Write([]string{w.Project, fmt.Sprint(w.Rows)})
	}
	pw.Flush()
	if err := put(ctx, out, "projects.csv", pj.String()); err != nil {
		return nil, err
	}
	rep.Files = append(rep.Files, "projects.csv")
	if err := put(ctx, out, "summary.txt", summary(rep, loc, s.opt.Now())); err != nil {
		return nil, err
	}
	rep.Files = append(rep.Files, "summary.txt")
	if delivered != nil {
		if err := delivered(ctx); err != nil {
			return nil, fmt.Errorf("record the delivery of the genetic extract: %w", err)
		}
	}
	return rep, nil
}

// rowSet is the rows of one store gathered for the person, under the
// union of the columns (and types) of the tables they come from.
type rowSet struct {
	cols  []string
	types map[string]tables.Type
	rows  []map[string]string
}

// addColumns adds the columns of s not yet in the set, with their types.
func (rs *rowSet) addColumns(s *tables.Schema) {
	if s == nil {
		return
	}
	if rs.types == nil {
		rs.types = map[string]tables.Type{}
	}
	for _, f := range s.Fields() {
		if !slices.Contains(rs.cols, f.Name) {
			rs.cols = append(rs.cols, f.Name)
			rs.types[f.Name] = f.Type
		}
	}
}

// schema returns the set's columns, typed as in the tables read (a
// column seen only in an extract is a string).
func (rs *rowSet) schema() (*tables.Schema, error) {
	fs := make([]tables.Field, len(rs.cols))
	for i, c := range rs.cols {
		fs[i] = tables.Field{Name: c, Type: rs.types[c]}
	}
	return tables.NewSchema(fs...)
}

func imageExt(format string) string {
	switch strings.ToLower(format) {
	case "dicom", "dcm":
		return ".dcm"
	case "jpeg", "jpg":
		return ".jpg"
	case "png":
		return ".png"
	case "tiff", "tif":
		return ".tif"
	}
	return ""
}

func (s *Service) copyImage(ctx context.Context, d *deks, key string, out objstore.Store, name string) error {
	dek, err := d.get(ctx, imageBatch(key), keys.Health)
	if err != nil {
		return err
	}
	r, err := warehouse.OpenEncrypted(ctx, s.wh.St, key, dek)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := out.Create(ctx, name)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		objstore.Abort(w)
		return fmt.Errorf("copy an image: %w", err)
	}
	return w.Close()
}

func writeParquet(ctx context.Context, out objstore.Store, name string, rs *rowSet) error {
	w, err := out.Create(ctx, name)
	if err != nil {
		return err
	}
	s, err := rs.schema()
	if err != nil {
		objstore.Abort(w)
		return err
	}
	tw, err := tables.NewWriter(w, s, tables.WriterOptions{})
	if err != nil {
		objstore.Abort(w)
		return err
	}
	for _, r := range rs.rows {
		if err := tw.AppendMap(r); err != nil {
			objstore.Abort(w)
			return err
		}
	}
	if err := tw.Close(); err != nil {
		objstore.Abort(w)
		return err
	}
	return w.Close()
}

func writeCSV(ctx context.Context, out objstore.Store, name string, rs *rowSet) error {
	w, err := out.Create(ctx, name)
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Write(rs.cols)
	vals := make([]string, len(rs.cols))
	for _, r := range rs.rows {
		for i, c := range rs.cols {
			vals[i] = r[c]
		}
		cw.Write(vals)
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		objstore.Abort(w)
		return err
	}
	return w.Close()
}

func put(ctx context.Context, out objstore.Store, name, content string) error {
	w, err := out.Create(ctx, name)
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, content); err != nil {
		objstore.Abort(w)
		return err
	}
	return w.Close()
}

// summary is the human-readable page of the package, in French and English.
func summary(rep *AccessReport, loc *Location, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Droit d'accès / Right of access (RGPD art. 15, CNIL 2021-118 §9.2)\n")
	fmt.Fprintf(&b, "Référence de la demande / Request reference: %s\n", rep.Request)
	fmt.Fprintf(&b, "Date: %s\n\n", now.UTC().Format("2006-01-02"))
	fmt.Fprintf(&b, "Données d'identité / identity entries:      %d (identity.csv, identity.parquet)\n", rep.Identity)
	fmt.Fprintf(&b, "Données de santé / health records:          %d (health.csv, health.parquet)\n", rep.Records)
	fmt.Fprintf(&b, "Données génétiques / genetic records:       %d\n", rep.Genetic)
	fmt.Fprintf(&b, "Images dé-identifiées / de-identified images: %d (images/)\n\n", rep.Images)
	fmt.Fprintf(&b, "Lots (date de collecte) / batches (collection date):\n")
	for _, bc := range loc.Batches {
		fmt.Fprintf(&b, "  %s  %s  records %d, images %d, genetic %d\n", bc.Batch, bc.Collected.UTC().Format("2006-01-02"), bc.Records, bc.Images, bc.Genetic)
	}
	fmt.Fprintf(&b, "\nProjets ayant utilisé ces données / projects that used the data:\n")
	if len(loc.Workspaces) == 0 {
		fmt.Fprintf(&b, "  aucun / none\n")
	}
	for _, w := range loc.Workspaces {
		fmt.Fprintf(&b, "  %s (%d rows)\n", w.Project, w.Rows)
	}
	// Issue 21: each export with its true state; only released ones left
	// the warehouse, and a justified release is named as such.
	released, held := 0, 0
	for _, e := range loc.Exports {
		if e.Released() || e.State == "" {
			released++
		} else if e.State != "cancelled" && e.State != "rejected" {
			held++
		}
	}
	fmt.Fprintf(&b, "\nExports anonymes publiés depuis / anonymous exports released since: %d\n", released)
	for _, e := range loc.Exports {
		if !e.Released() && e.State != "" {
			continue
		}
		j := ""
		if e.Justified {
			j = " — publié après revue justifiée d'un contrôle échoué / released after a justified review of a failed check"
		}
		fmt.Fprintf(&b, "  %s  %s%s\n", e.ID, e.Built.UTC().Format("2006-01-02"), j)
	}
	if held > 0 {
		fmt.Fprintf(&b, "Exports en attente, non publiés / exports pending, not released: %d\n", held)
	}
	fmt.Fprintf(&b, "Ces exports sont anonymes et ne contiennent aucune donnée vous concernant de manière identifiable.\n")
	fmt.Fprintf(&b, "These exports are anonymous and hold no data identifiable as yours.\n\n")
	fmt.Fprintf(&b, "Conservation / retention: at most 20 years (CNIL 2021-118 §7.2), counted from the warehouse policy's start event (end of care by default).\n")
	return b.String()
}
