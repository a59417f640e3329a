package layers_test

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"hdw/internal/layers"
)

type pkg struct {
	ImportPath string
	Imports    []string
}

// root returns the module's directory.
func root(t *testing.T) string {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	dir := filepath.Dir(strings.TrimSpace(string(out)))
	// Stat every Go file so that go test's cache sees a changed import.
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".go") {
			os.Stat(p)
		}
		return nil
	})
	return dir
}

// packages lists every package of the module with its (non-test) imports,
// under the default build tags and the ocr tag.
func packages(t *testing.T) []pkg {
	var all []pkg
	for _, tags := range []string{"", "ocr"} {
		cmd := exec.Command("go", "list", "-e", "-tags", tags, "-json=ImportPath,Imports", "./...")
		cmd.Dir = root(t)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list: %v: %s", err, stderr.String())
		}
		dec := json.NewDecoder(bytes.NewReader(out))
		for {
			var p pkg
			if err := dec.Decode(&p); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			all = append(all, p)
		}
	}
	return all
}

// TestLayers: no package imports against the data flow, and the pure
// packages import no I/O.
func TestLayers(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range packages(t) {
		for _, imp := range p.Imports {
			key := p.ImportPath + " " + imp
			if seen[key] {
				continue
			}
			seen[key] = true
			if msg := layers.CheckPure(p.ImportPath, imp); msg != "" {
				t.Error(msg)
			}
			if imp != "hdw" && !strings.HasPrefix(imp, "hdw/") {
				continue
			}
			if msg := layers.Check(p.ImportPath, imp); msg != "" {
				t.Error(msg)
			}
		}
	}
}

// TestArchitectureDoc: docs/ARCHITECTURE.md shows layers.Graph as it is,
// and its package map names every package of the tree.
func TestArchitectureDoc(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join(root(t), "docs", "ARCHITECTURE.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(doc, []byte(layers.Markdown())) {
		t.Errorf("docs/ARCHITECTURE.md does not hold layers.Graph: paste this table in its \"Allowed imports\" section:\n%s", layers.Markdown())
	}
	for _, p := range packages(t) {
		if !bytes.Contains(doc, []byte("`"+strings.TrimPrefix(p.ImportPath, "hdw/")+"`")) {
			t.Errorf("docs/ARCHITECTURE.md's package map does not name %s: add a line for it (`%s`: what it owns)",
				p.ImportPath, strings.TrimPrefix(p.ImportPath, "hdw/"))
		}
	}
}

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		from, to string
		ok       bool
	}{
		{"hdw/cmd/hdw", "hdw/pipeline", true},
		{"hdw/pipeline", "hdw/warehouse", true},
		{"hdw/keys/local", "hdw/objstore", true},
		{"hdw/keys/local", "hdw/warehouse", false},
		{"hdw/workspaces", "hdw/rights", true},
		{"hdw/rights", "hdw/workspaces", false},
		{"hdw/rights", "hdw/pipeline", false},
		{"hdw/masking/dcm", "hdw/masking", true},
		{"hdw/bench/cmd/dcmbench", "hdw/bench/cmd/internal/benchrun", true},
		{"hdw/cmd/hdw", "hdw/bench/cmd/internal/benchrun", false},
		{"hdw/objstore", "hdw/tables", false},
		{"hdw/newpkg", "hdw/keys", false},
	} {
		if got := layers.Check(c.from, c.to) == ""; got != c.ok {
			t.Errorf("%s -> %s: allowed %v, want %v", c.from, c.to, got, c.ok)
		}
	}
	if layers.CheckPure("hdw/masking/photo", "os") == "" || layers.CheckPure("hdw/masking/dcm/internal/annexe/gen", "os") != "" {
		t.Error("purity")
	}
}
