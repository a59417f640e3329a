package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"hdw/keys"
	"hdw/objstore"
	"hdw/synth"
	"hdw/warehouse"
)

// cli runs hdw in-process with its own environment (no os.Setenv).
type cli struct {
	t   *testing.T
	dir string
	env map[string]string
	// out collects every stdout and stderr for leak scans.
	out bytes.Buffer
	// opts adjust each command's globals (an injected sleep).
	opts []func(*globals)
}

func newCLI(t *testing.T) *cli {
	t.Helper()
	dir := t.TempDir()
	c := &cli{t: t, dir: dir, env: map[string]string{
		"HDW_WAREHOUSE":   filepath.Join(dir, "wh"),
		"HDW_CREDENTIALS": filepath.Join(dir, "creds"),
	}}
	return c
}

func (c *cli) getenv(k string) string {
	if v, ok := c.env[k]; ok {
		return v
	}
	// S3 and Vault settings come from the test environment.
	if strings.HasPrefix(k, "AWS_") || strings.HasPrefix(k, "VAULT_") || strings.HasPrefix(k, "HDW_S3_") {
		return os.Getenv(k)
	}
	return ""
}

// run executes hdw with args and returns the exit code, stdout and stderr.
func (c *cli) run(args ...string) (int, string, string) {
	c.t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr, c.getenv, c.opts...)
	c.out.Write(stdout.Bytes())
	c.out.Write(stderr.Bytes())
	return code, stdout.String(), stderr.String()
}

// must runs hdw and fails unless the exit code is want.
func (c *cli) must(want int, args ...string) string {
	c.t.Helper()
	code, out, errOut := c.run(args...)
	if code != want {
		c.t.Fatalf("hdw %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, out, errOut)
	}
	return out
}

// initialized returns a CLI with a new warehouse and the folder src into
// which up was written, not yet ingested.
func initialized(t *testing.T, up *synth.Upload) (c *cli, src string) {
	c = newCLI(t)
	src = filepath.Join(c.dir, "upload")
	writeUpload(t, src, up)
	c.must(0, "init")
	return c, src
}

// ingested returns a CLI whose new warehouse holds up, ingested by the
// ingest profile with exit code want (3 when up has files that are
// quarantined, as the demo upload has).
func ingested(t *testing.T, up *synth.Upload, want int) *cli {
	c, src := initialized(t, up)
	c.must(want, "--profile", "ingest", "ingest", src)
	return c
}

// writeUpload writes a synthetic upload into a folder.
func writeUpload(t *testing.T, dir string, u *synth.Upload) {
	t.Helper()
	for _, f := range u.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		out, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Write(out); err != nil {
			t.Fatal(err)
		}
		out.Close()
	}
}

// secrets returns every identifying string of an upload: person fields,
// original file and folder names.
func secrets(u *synth.Upload) []string {
	var out []string
	for _, p := range u.Persons {
		for _, v := range p.Identifiers() {
			if len(v) >= 4 {
				out = append(out, v)
			}
		}
		out = append(out, strings.ReplaceAll(p.BirthDate, "-", ""))
	}
	for _, f := range u.Files {
		if f.Name == "manifest.csv" {
			continue
		}
		// File and folder names that carry a person's name (the generic
		// "bad/" and "stray/" folders of the bad rows are not identifying).
		base := filepath.Base(f.Name)
		if n := strings.TrimSuffix(base, filepath.Ext(base)); len(n) >= 6 {
			out = append(out, n)
		}
		if d := filepath.Base(filepath.Dir(f.Name)); len(d) >= 6 {
			out = append(out, d)
		}
	}
	return out
}

func assertNoLeak(t *testing.T, what string, data []byte, secrets []string) {
	t.Helper()
	for _, s := range secrets {
		if bytes.Contains(data, []byte(s)) {
			t.Errorf("%s contains an identifying string of the upload (%d chars)", what, len(s))
		}
	}
}

// openAs opens the warehouse in-process as a profile (for test inspection).
func (c *cli) openAs(profile string) (*warehouse.Warehouse, keys.Provider) {
	c.t.Helper()
	g := &globals{warehouse: c.env["HDW_WAREHOUSE"], profile: profile, getenv: c.getenv, stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}}
	if err := g.setup(nil); err != nil { // the config and dictionary, as a command reads them
		c.t.Fatal(err)
	}
	ctx := context.Background()
	s, err := objstore.NewLocal(g.warehouse)
	if err != nil {
		c.t.Fatal(err)
	}
	wh, err := warehouse.Open(ctx, s, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	p, err := g.openProvider(ctx, s, wh.Desc)
	if err != nil {
		c.t.Fatal(err)
	}
	wh.Keys = p
	return wh, p
}

func decodeJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
}
