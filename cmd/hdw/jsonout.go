package main

import (
	"encoding/json"
	"fmt"
	"io"
)

// result prints a command's result: v as JSON with --json, else the text
// (issue 23: --json on every command that prints).
func (g *globals) result(v any, format string, args ...any) error {
	if g.json {
		return writeJSON(g.stdout, v)
	}
	_, err := fmt.Fprintf(g.stdout, format, args...)
	return err
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// orEmpty is l, or an empty list when l is nil: JSON output lists [],
// never null.
func orEmpty[T any](l []T) []T {
	if l == nil {
		return []T{}
	}
	return l
}
