// The tables and images a workspace copies: the warehouse's tables read
// batch by batch, the workspace's written under its own data key.

package workspaces

import (
	"context"
	"errors"
	"io"
	"strings"

	"hdw/keys"
	"hdw/objstore"
	"hdw/pseudo"
	"hdw/tables"
	"hdw/warehouse"
)

// scanTables calls fn with every row of the tables of objs whose key starts
// with prefix, read with dek (the batch's data key of their store); a
// table missing from the store is skipped. The row map is reused from one
// row to the next. It returns the first error of fn or of a read.
func scanTables(ctx context.Context, st objstore.Store, objs []warehouse.ObjectRef, prefix string, dek keys.Secret, fn func(row map[string]string) error) error {
	for _, o := range objs {
		if !strings.HasPrefix(o.Key, prefix) {
			continue
		}
		row := map[string]string{}
		_, err := tables.ScanObject(ctx, st, o.Key, dek, tables.Query{}, func(r *tables.Row) error {
			r.Map(row)
			return fn(row)
		})
		if err != nil && !errors.Is(err, objstore.ErrNotExist) {
			return err
		}
	}
	return nil
}

// writeTable writes rows as a workspace table at key, with Parquet modular
// encryption under the workspace data key (DuckDB and pyarrow read it with
// that key, README), and returns the SHA-256 of the stored file (for the
// manifest).
func writeTable(ctx context.Context, st objstore.Store, key string, dek keys.Secret, s *tables.Schema, rows []map[string]string) (string, error) {
	w, err := tables.Create(ctx, st, key, dek, tables.Modular, s)
	if err != nil {
		return "", err
	}
	for _, r := range rows {
		if err := w.AppendMap(r); err != nil {
			w.Abort()
			return "", err
		}
	}
	obj, err := w.Close()
	if err != nil {
		return "", err
	}
	return obj.SHA256, nil
}

// copyImage re-encrypts a warehouse image under the workspace key; DICOM
// files are re-keyed (UIDs and patient pseudonym), photos copied as they are.
func copyImage(ctx context.Context, wh *warehouse.Warehouse, from string, fdek keys.Secret, to string, tdek keys.Secret, format string, k *pseudo.Keyed, wp string) (string, int64, error) {
	r, err := warehouse.OpenEncrypted(ctx, wh.St, from, fdek)
	if err != nil {
		return "", 0, err
	}
	defer r.Close()
	w, err := warehouse.CreateEncrypted(ctx, wh.St, to, tdek)
	if err != nil {
		return "", 0, err
	}
	cw := objstore.NewDigest(w)
	if format == "dicom" {
		data, err := io.ReadAll(io.LimitReader(r, maxImage+1))
		if err == nil && len(data) > maxImage {
			err = errors.New("workspace: image too large")
		}
		if err == nil {
			err = rekeyDICOM(cw, data, k, wp)
		}
		if err != nil {
			objstore.Abort(w)
			return "", 0, err
		}
	} else if _, err := io.Copy(cw, r); err != nil {
		objstore.Abort(w)
		return "", 0, err
	}
	return cw.Sum(), cw.N, w.Close()
}

// imageExt is the file extension of a stored image format, so that a
// researcher's tools open a pulled image by its name (issue 23).
func imageExt(format string) string {
	switch strings.ToLower(format) {
	case "dicom":
		return ".dcm"
	case "jpeg":
		return ".jpg"
	case "png":
		return ".png"
	case "tiff":
		return ".tif"
	case "webp":
		return ".webp"
	}
	return ""
}
