package layers

import (
	"fmt"
	"slices"
	"strings"
)

// Layer is one rank of the data flow: a package may import packages of
// lower ranks only (and its own family: its parent or sub-packages).
type Layer struct {
	Rank     int
	Name     string
	Packages []string // import paths; a path covers its sub-packages
}

// Graph is the allowed import graph, highest rank first. Change it here
// and in docs/ARCHITECTURE.md (TestArchitectureDoc compares them).
var Graph = []Layer{
	{6, "commands", []string{"hdw/cmd", "hdw/bench/cmd", "hdw/internal/trace"}},
	{5, "workflows", []string{"hdw/pipeline", "hdw/workspaces", "hdw/export", "hdw/rights", "hdw/rotation", "hdw/indicators", "hdw/synth"}},
	{4, "warehouse", []string{"hdw/warehouse"}},
	{3, "domain", []string{"hdw/policy", "hdw/criteria", "hdw/masking", "hdw/pseudo", "hdw/tables", "hdw/audit",
		"hdw/keys/local", "hdw/keys/vault", "hdw/keys/keystest", "hdw/configs/vault"}},
	{2, "storage", []string{"hdw/objstore", "hdw/envelope"}},
	{1, "vocabulary", []string{"hdw/keys", "hdw/configs", "hdw/internal/layers", "hdw/internal/testenv", "hdw/internal/runtimetune"}},
}

// SameLayer lists the imports allowed inside one rank, with the reason.
var SameLayer = map[[2]string]string{
	{"hdw/workspaces", "hdw/rights"}: "the workspace index implements rights.WorkspaceIndex (erasure reaches workspaces)",
	{"hdw/rotation", "hdw/rights"}:   "a key rotation moves images with rights.MoveImage, as rectification does",
}

// Pure packages import no I/O: no files, network, S3, Vault, key store or
// warehouse. Tools under them (a gen/ folder) are exempt.
var Pure = []string{"hdw/pseudo", "hdw/masking", "hdw/criteria", "hdw/policy"}

// IO are the imports a pure package may not have (a path covers its
// sub-packages).
var IO = []string{"os", "net", "syscall", "io/ioutil", "os/exec", "database/sql", "plugin",
	"github.com/aws", "github.com/hashicorp/vault", "hdw/objstore", "hdw/keys/local", "hdw/keys/vault",
	"hdw/warehouse", "hdw/audit"}

func under(pkg, root string) bool { return pkg == root || strings.HasPrefix(pkg, root+"/") }

// LayerOf returns the layer of pkg (the most specific entry), or nil.
func LayerOf(pkg string) *Layer {
	var best *Layer
	bestLen := -1
	for i := range Graph {
		for _, p := range Graph[i].Packages {
			if under(pkg, p) && len(p) > bestLen {
				best, bestLen = &Graph[i], len(p)
			}
		}
	}
	return best
}

// family reports whether a and b are one package family: one under the
// other, or b in an internal folder of a tree that holds a (Go lets only
// that tree import it: helpers shared by sibling commands). The module's
// own internal folder is not a family: its tools have ranks of their own.
func family(a, b string) bool {
	if under(a, b) || under(b, a) {
		return true
	}
	i := strings.Index(b, "/internal/")
	return i > 0 && b[:i] != "hdw" && under(a, b[:i])
}

// Check returns what is wrong with the import from -> to (both hdw
// packages), or "" when it is allowed.
func Check(from, to string) string {
	lf, lt := LayerOf(from), LayerOf(to)
	switch {
	case lf == nil:
		return fmt.Sprintf("%s is in no layer: add it to layers.Graph (internal/layers/layers.go) and to docs/ARCHITECTURE.md", from)
	case lt == nil:
		return fmt.Sprintf("%s is in no layer: add it to layers.Graph (internal/layers/layers.go) and to docs/ARCHITECTURE.md", to)
	case family(from, to) || lf.Rank > lt.Rank:
		return ""
	case lf.Rank == lt.Rank:
		if _, ok := SameLayer[[2]string{from, to}]; ok {
			return ""
		}
	}
	return fmt.Sprintf("%s (%s, rank %d) imports %s (%s, rank %d): imports go down the data flow only. "+
		"Move what %s needs down to a lower layer (or the caller up), or pass it in as an interface; "+
		"if the design really changed, change layers.Graph and docs/ARCHITECTURE.md together",
		from, lf.Name, lf.Rank, to, lt.Name, lt.Rank, from)
}

// CheckPure returns what is wrong when pkg is pure and imports imp.
func CheckPure(pkg, imp string) string {
	if strings.Contains(pkg+"/", "/gen/") || !slices.ContainsFunc(Pure, func(p string) bool { return under(pkg, p) }) {
		return ""
	}
	if slices.ContainsFunc(IO, func(p string) bool { return under(imp, p) }) {
		return fmt.Sprintf("%s is pure (no I/O) and imports %s: take an io.Reader/io.Writer or an interface from the caller instead", pkg, imp)
	}
	return ""
}

// Markdown returns the graph as the table docs/ARCHITECTURE.md holds.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| rank | layer | packages (a path covers its sub-packages) |\n|---|---|---|\n")
	for _, l := range Graph {
		fmt.Fprintf(&b, "| %d | %s | %s |\n", l.Rank, l.Name, "`"+strings.Join(l.Packages, "`, `")+"`")
	}
	return b.String()
}
