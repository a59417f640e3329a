// Package validate checks the Kubernetes manifests of deploy/k8s, as
// rendered by `make k8s-manifests`, by decoding them into the k8s.io/api
// types with unknown fields refused (a misspelt or misplaced field fails),
// then checking what the sharded ingest needs (issue 23). It is a module of
// its own so that k8s.io/api stays out of hdw's build; `make test` runs it.
package validate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

func render(t *testing.T, keys string, shards int) []byte {
	t.Helper()
	out := filepath.Join(t.TempDir(), "job.yaml")
	cmd := exec.Command("make", "--no-print-directory", "-C", "../../..", "k8s-manifests",
		"BUCKET=uploads", "CLIENT=ACME", fmt.Sprintf("SHARDS=%d", shards), "KEYS="+keys, "IMAGE=registry.example.org/hdw:test", "OUT="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make k8s-manifests: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// strict decodes one YAML document into v, refusing unknown fields.
func strict(t *testing.T, doc []byte, v any) {
	t.Helper()
	j, err := yaml.YAMLToJSON(doc)
	if err != nil {
		t.Fatalf("yaml: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, doc)
	}
}

type objects struct {
	sa  *corev1.ServiceAccount
	cm  *corev1.ConfigMap
	job *batchv1.Job
}

func decode(t *testing.T, b []byte) objects {
	t.Helper()
	var o objects
	for _, doc := range strings.Split(string(b), "\n---\n") {
		var meta struct{ Kind string }
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatal(err)
		}
		switch meta.Kind {
		case "ServiceAccount":
			o.sa = &corev1.ServiceAccount{}
			strict(t, []byte(doc), o.sa)
		case "ConfigMap":
			o.cm = &corev1.ConfigMap{}
			strict(t, []byte(doc), o.cm)
		case "Job":
			o.job = &batchv1.Job{}
			strict(t, []byte(doc), o.job)
		case "":
			if strings.TrimSpace(stripComments(doc)) != "" {
				t.Fatalf("a document without kind:\n%s", doc)
			}
		default:
			t.Fatalf("unexpected kind %q", meta.Kind)
		}
	}
	if o.sa == nil || o.cm == nil || o.job == nil {
		t.Fatalf("missing objects: %+v", o)
	}
	return o
}

func stripComments(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// TestIngestJobManifests: for both key modes and several shard counts, the
// rendered Job is an Indexed Job of SHARDS completions whose pods run hdw
// on their shard, with exit 3 (done with quarantine) never restarted,
// credentials only from Secrets (files, not a ConfigMap), its own service
// account, requests and limits, and a hardened security context.
func TestIngestJobManifests(t *testing.T) {
	for _, keys := range []string{"vault", "vault-k8s", "passphrase"} {
		for _, shards := range []int{1, 4, 16} {
			t.Run(fmt.Sprintf("%s/%d", keys, shards), func(t *testing.T) {
				o := decode(t, render(t, keys, shards))
				j := o.job
				s := j.Spec
				if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion {
					t.Fatal("completionMode must be Indexed")
				}
				if s.Completions == nil || *s.Completions != int32(shards) || s.Parallelism == nil || *s.Parallelism != int32(shards) {
					t.Fatal("completions and parallelism must be SHARDS")
				}
				if j.Name != "hdw-ingest-acme" {
					t.Fatalf("name %q", j.Name)
				}
				p := s.Template.Spec
				if p.RestartPolicy != corev1.RestartPolicyNever {
					t.Fatal("podFailurePolicy needs restartPolicy Never")
				}
				if s.PodFailurePolicy == nil {
					t.Fatal("no podFailurePolicy")
				}
				exit3 := false
				for _, r := range s.PodFailurePolicy.Rules {
					if r.OnExitCodes != nil && slices.Contains(r.OnExitCodes.Values, 3) {
						if r.Action != batchv1.PodFailurePolicyActionFailIndex || r.OnExitCodes.Operator != batchv1.PodFailurePolicyOnExitCodesOpIn {
							t.Fatalf("exit 3 must end its index without a restart: %+v", r)
						}
						exit3 = true
					}
				}
				if !exit3 || s.BackoffLimitPerIndex == nil {
					t.Fatal("exit 3 (done with quarantine) must not restart: FailIndex with backoffLimitPerIndex")
				}
				if p.ServiceAccountName != o.sa.Name || o.sa.Name == "" {
					t.Fatalf("service account %q, rendered %q", p.ServiceAccountName, o.sa.Name)
				}
				if len(p.Containers) != 1 {
					t.Fatal("one container")
				}
				c := p.Containers[0]
				args := strings.Join(c.Args, " ")
				if !strings.Contains(args, fmt.Sprintf("--shard $(JOB_COMPLETION_INDEX)/%d", shards)) || !strings.Contains(args, "s3://uploads") ||
					!strings.Contains(args, "--client ACME") || !strings.Contains(args, "--json") {
					t.Fatalf("args %q", args)
				}
				if c.Image != "registry.example.org/hdw:test" {
					t.Fatalf("image %q", c.Image)
				}
				if c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
					t.Fatal("requests and limits must be set")
				}
				sc := c.SecurityContext
				if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
					t.Fatal("hardened container security context expected")
				}
				if p.SecurityContext == nil || p.SecurityContext.RunAsNonRoot == nil || !*p.SecurityContext.RunAsNonRoot {
					t.Fatal("runAsNonRoot expected")
				}
				// Credentials: only from Secrets, as files; none in the ConfigMap or a literal env value.
				secretVols := map[string]bool{}
				for _, v := range p.Volumes {
					if v.Secret != nil {
						secretVols[v.Name] = true
					}
				}
				env := map[string]corev1.EnvVar{}
				for _, e := range c.Env {
					env[e.Name] = e
					if strings.Contains(strings.ToLower(e.Name), "pass") && e.Value != "" && !strings.HasSuffix(e.Name, "_FILE") {
						t.Fatalf("%s set as a literal value", e.Name)
					}
				}
				switch keys {
				case "vault":
					if env["HDW_VAULT_ROLE_ID"].ValueFrom == nil || env["HDW_VAULT_ROLE_ID"].ValueFrom.SecretKeyRef == nil || env["HDW_VAULT_SECRET_ID_FILE"].Value == "" {
						t.Fatal("Vault AppRole from a Secret expected")
					}
				case "vault-k8s":
					// The Kubernetes auth method (issue 22 item 6): the pod's
					// projected service account token, no AppRole secret.
					if env["HDW_VAULT_AUTH"].Value != "kubernetes" || env["HDW_VAULT_ROLE"].Value == "" || env["HDW_VAULT_JWT_FILE"].Value == "" {
						t.Fatal("Vault kubernetes auth method expected")
					}
					if _, ok := env["HDW_VAULT_ROLE_ID"]; ok {
						t.Fatal("no AppRole with the kubernetes method")
					}
					projected := false
					for _, v := range p.Volumes {
						if v.Projected != nil {
							for _, src := range v.Projected.Sources {
								if src.ServiceAccountToken != nil && src.ServiceAccountToken.Audience == "vault" &&
									src.ServiceAccountToken.ExpirationSeconds != nil && *src.ServiceAccountToken.ExpirationSeconds <= 3600 &&
									strings.HasSuffix(env["HDW_VAULT_JWT_FILE"].Value, "/"+src.ServiceAccountToken.Path) {
									projected = true
								}
							}
						}
					}
					if !projected {
						t.Fatal("a projected service account token (audience vault, at most an hour) at HDW_VAULT_JWT_FILE expected")
					}
				case "passphrase":
					if env["HDW_PASSPHRASE_FILE"].Value == "" {
						t.Fatal("HDW_PASSPHRASE_FILE expected")
					}
					if _, ok := env["HDW_PASSPHRASE"]; ok {
						t.Fatal("the passphrase must come as a file")
					}
				}
				for _, m := range c.VolumeMounts {
					if strings.Contains(m.MountPath, "passphrase") || strings.Contains(m.MountPath, "approle") {
						if !secretVols[m.Name] {
							t.Fatalf("%s mounted from a non-Secret volume", m.MountPath)
						}
					}
				}
				for k, v := range o.cm.Data {
					low := strings.ToLower(v)
					if strings.Contains(low, "passphrase") || strings.Contains(low, "secret_id") || strings.Contains(low, "token") {
						t.Fatalf("ConfigMap %s holds a credential", k)
					}
				}
			})
		}
	}
}

// TestRenderRefusesBadInput: make k8s-manifests checks its variables.
func TestRenderRefusesBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"BUCKET=uploads", "CLIENT=ACME"},
		{"BUCKET=Bad_Bucket", "CLIENT=ACME", "SHARDS=2"},
		{"BUCKET=uploads", "CLIENT=a/b", "SHARDS=2"},
		{"BUCKET=uploads", "CLIENT=ACME", "SHARDS=0"},
		{"BUCKET=uploads", "CLIENT=ACME", "SHARDS=2", "KEYS=configmap"},
	} {
		cmd := exec.Command("make", append([]string{"--no-print-directory", "-s", "-C", "../../..", "k8s-manifests", "OUT=" + filepath.Join(t.TempDir(), "x.yaml")}, args...)...)
		if err := cmd.Run(); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

// TestExampleUpToDate: the example linked from the README is what
// `make k8s-manifests` renders today, and decodes strictly.
func TestExampleUpToDate(t *testing.T) {
	want, err := os.ReadFile("../example-acme-4-vault.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "job.yaml")
	cmd := exec.Command("make", "--no-print-directory", "-s", "-C", "../../..", "k8s-manifests",
		"BUCKET=uploads", "CLIENT=ACME", "SHARDS=4", "IMAGE=registry.example.org/hdw:1.0", "OUT="+out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	got, _ := os.ReadFile(out)
	if !bytes.Equal(got, want) {
		t.Fatal("deploy/k8s/example-acme-4-vault.yaml is stale: rerun make k8s-manifests BUCKET=uploads CLIENT=ACME SHARDS=4 IMAGE=registry.example.org/hdw:1.0 OUT=deploy/k8s/example-acme-4-vault.yaml")
	}
	decode(t, got)
}
