package main

import (
	"encoding/json"
	"fmt"
)

// result prints a command's result: v as JSON with --json, else the text
// (issue 23: --json on every command that prints).
func (g *globals) result(v any, format string, args ...any) error {
	if g.json {
		enc := json.NewEncoder(g.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	_, err := fmt.Fprintf(g.stdout, format, args...)
	return err
}
