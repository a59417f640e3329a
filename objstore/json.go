package objstore

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
)

// ReadJSON reads a JSON object of at most max bytes.
func ReadJSON(ctx context.Context, st Store, key string, max int64, v any) error {
	r, err := st.Open(ctx, key)
	if err != nil {
		return err
	}
	defer r.Close()
	dec := json.NewDecoder(io.LimitReader(r, max))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("read %s: %w", key, err)
	}
	return nil
}

// WriteJSON writes a JSON object atomically (replacing it).
func WriteJSON(ctx context.Context, st Store, key string, v any) error {
	w, err := st.Create(ctx, key)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		Abort(w)
		return err
	}
	return w.Close()
}
