package export

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"hdw/objstore"
)

// Layout of an export under exports/<id>/ (passed the gate) or
// quarantine/<id>/ (failed it):
//
//	request.json        Content, written once: what was asked and found
//	history/<seq>.json  Entry, written once each: request, decisions, releases
//	gate.json           the gate's Report, written once
//	report.json/.html   the approver's View, regenerated at each decision
//	data.parquet        the release, encrypted under its own data key
const (
	contentFile = "request.json"
	historyDir  = "history/"
	gateFile    = "gate.json"
	dataFile    = "data.parquet"
)

// States an export can be listed in (Verify's State.Status, and "forged"
// for one whose records do not verify).
var States = []string{"pending-approval", "quarantined", "awaiting-second-approval", "approved", "rejected", "released", "cancelled", "forged"}

// Files is an export as read from the warehouse.
type Files struct {
	Root    string
	Content Content
	History []Entry
	Gate    *Report
}

// ValidRef reports whether s is a committee reference or an export id:
// 1-64 of A-Z a-z 0-9 . _ - / :.
func ValidRef(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/:", r)) {
			return false
		}
	}
	return true
}

// ValidID reports whether s can name an export.
func ValidID(s string) bool { return ValidRef(s) && !strings.ContainsAny(s, "/.") }

func historyKey(root string, seq int) string {
	return fmt.Sprintf("%s%s%06d.json", root, historyDir, seq)
}

// putOnce writes v at key unless the key exists (records are write-once).
func putOnce(ctx context.Context, s objstore.Store, key string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := s.PutIfAbsent(ctx, key, bytes.NewReader(b)); err != nil {
		return fmt.Errorf("write %s: %w", key, err)
	}
	return nil
}

// readStrict decodes one record; anything that is not exactly the record
// is a forgery.
func readStrict(ctx context.Context, s objstore.Store, key string, v any) error {
	r, err := s.Open(ctx, key)
	if err != nil {
		return err
	}
	defer r.Close()
	dec := json.NewDecoder(io.LimitReader(r, 8<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrForged, key, err)
	}
	return nil
}

// writeView (re)writes report.json and report.html.
func writeView(ctx context.Context, s objstore.Store, root string, v View) error {
	if err := objstore.WriteJSON(ctx, s, root+"report.json", v); err != nil {
		return err
	}
	var html bytes.Buffer
	if err := WriteHTML(&html, v); err != nil {
		return err
	}
	return objstore.Put(ctx, s, root+"report.html", &html)
}

// Load reads an export's content, history and gate report. Records that
// are not exactly what hdw writes return ErrForged (with what was read so
// far); an unknown id ErrNotFound.
func Load(ctx context.Context, s objstore.Store, id string) (*Files, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("%w: bad export id", ErrRequest)
	}
	for _, root := range []string{"exports/" + id + "/", "quarantine/" + id + "/"} {
		if _, err := s.Stat(ctx, root+contentFile); err != nil {
			continue
		}
		f := &Files{Root: root}
		if err := readStrict(ctx, s, root+contentFile, &f.Content); err != nil {
			return f, err
		}
		var ks []string
		for info, err := range s.List(ctx, root+historyDir) {
			if err != nil {
				return f, err
			}
			ks = append(ks, info.Key)
		}
		sort.Strings(ks)
		for _, k := range ks {
			var e Entry
			if err := readStrict(ctx, s, k, &e); err != nil {
				return f, err
			}
			f.History = append(f.History, e)
		}
		f.Gate = new(Report)
		if err := readStrict(ctx, s, root+gateFile, f.Gate); err != nil {
			return f, err
		}
		if f.Content.ID != id {
			return f, fmt.Errorf("%w: %s names another export", ErrForged, root+contentFile)
		}
		return f, nil
	}
	return nil, fmt.Errorf("%w: %s (hdw export list)", ErrNotFound, id)
}

// IDs lists the ids under exports/ and quarantine/.
func IDs(ctx context.Context, s objstore.Store) ([]string, error) {
	seen := map[string]bool{}
	for _, p := range []string{"exports/", "quarantine/"} {
		for info, err := range s.List(ctx, p) {
			if err != nil {
				return nil, err
			}
			if id, file, ok := strings.Cut(strings.TrimPrefix(info.Key, p), "/"); ok && file == contentFile {
				seen[id] = true
			}
		}
	}
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids, nil
}
