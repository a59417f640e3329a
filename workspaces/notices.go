// Workspace notices (issue 21): what the data protection officer's acts
// ask of a workspace's owner for the copies they already pulled. An
// erasure or opposition records the workspace pseudonyms to delete; a
// rectification that changed a person's pseudonym records the old -> new
// workspace pseudonym map. Each notice is a table under
// workspaces/<project>/notices/<id>.parquet, Parquet modular encryption
// under the workspace data key: the researcher:<project> profile and the
// curator read it, nobody else. It names persons by workspace pseudonyms
// only (never identity, never the warehouse pseudonym). Notices are not in
// the manifest: a pull writes the workspace as it is now; notices concern
// the copies pulled before.

package workspaces

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"hdw/keys"
	"hdw/objstore"
	"hdw/rights"
	"hdw/tables"
	"hdw/warehouse"
)

// Notice is one recorded notice, as its owner reads it.
type Notice struct {
	ID      string    `json:"id"`
	Kind    string    `json:"kind"` // erasure, opposition or rectification
	Request string    `json:"request"`
	Time    time.Time `json:"time"`
	// Delete are the workspace pseudonyms whose rows the owner deletes from
	// every pulled copy (erasure, opposition).
	Delete []string `json:"delete,omitempty"`
	// Renames maps old to new workspace pseudonyms: the owner replaces
	// each old pseudonym in every pulled copy (rectification).
	Renames map[string]string `json:"renames,omitempty"`
}

// noticeSchema is the layout of a notice table: one row per pseudonym.
var noticeSchema = tables.Strings([]string{"kind", "request", "time", "pseudonym", "new_pseudonym"})

func noticePrefix(project string) string { return prefix(project) + "notices/" }

// Notify records a notice for the workspace's owner ([rights.WorkspaceIndex]).
func (x *Index) Notify(ctx context.Context, project string, n rights.WorkspaceNotice) (rights.NoticeRef, error) {
	ref := rights.NoticeRef{Project: project, Kind: n.Kind}
	w, err := x.open(ctx, project)
	if err != nil {
		return ref, err
	}
	defer w.close()
	var rows []map[string]string
	row := func(old, np string) {
		rows = append(rows, map[string]string{"kind": n.Kind, "request": n.Request, "time": n.Time.UTC().Format(time.RFC3339), "pseudonym": old, "new_pseudonym": np})
	}
	for _, p := range n.Erased {
		row(w.rekey(p), "")
	}
	olds := make([]string, 0, len(n.Renamed))
	for o := range n.Renamed {
		olds = append(olds, o)
	}
	sort.Strings(olds)
	for _, o := range olds {
		row(w.rekey(o), w.rekey(n.Renamed[o]))
	}
	if len(rows) == 0 {
		return ref, errors.New("workspace notice: no pseudonym to notify")
	}
	ref.ID = warehouse.NewID(n.Time)
	ref.Key = noticePrefix(project) + ref.ID + ".parquet"
	ref.Pseudonyms = len(rows)
	if _, err := writeTable(ctx, x.wh.St, ref.Key, w.dek, noticeSchema, rows); err != nil {
		return ref, fmt.Errorf("write workspace %s notice: %w", project, err)
	}
	return ref, nil
}

// Notices reads the workspace's notices, oldest first, with the workspace
// data key (researcher:<project>, curator).
func Notices(ctx context.Context, wh *warehouse.Warehouse, project string) ([]Notice, error) {
	if _, err := Load(ctx, wh.St, project); err != nil {
		return nil, err
	}
	var ks []string
	for info, err := range wh.St.List(ctx, noticePrefix(project)) {
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(info.Key, ".parquet") {
			ks = append(ks, info.Key)
		}
	}
	if len(ks) == 0 {
		return nil, nil
	}
	sort.Strings(ks)
	dek, err := wh.DataKey(ctx, "ws-"+project, keys.Workspace(project))
	if err != nil {
		return nil, err
	}
	defer dek.Wipe()
	var out []Notice
	for _, k := range ks {
		n := Notice{ID: strings.TrimSuffix(k[len(noticePrefix(project)):], ".parquet")}
		_, err := tables.ScanObject(ctx, wh.St, k, dek, tables.Query{}, func(r *tables.Row) error {
			m := r.Map(nil)
			n.Kind, n.Request = m["kind"], m["request"]
			n.Time, _ = time.Parse(time.RFC3339, m["time"])
			if np := m["new_pseudonym"]; np != "" {
				if n.Renames == nil {
					n.Renames = map[string]string{}
				}
				n.Renames[m["pseudonym"]] = np
			} else {
				n.Delete = append(n.Delete, m["pseudonym"])
			}
			return nil
		})
		if err != nil {
			if errors.Is(err, objstore.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("read workspace %s notice %s: %w", project, n.ID, err)
		}
		out = append(out, n)
	}
	return out, nil
}
