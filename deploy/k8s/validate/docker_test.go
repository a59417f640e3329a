package validate

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDockerfile: the Dockerfile is multi-stage with a static target (the
// default, last) and an ocr target with the Tesseract runtime; the static
// build command it runs gives a binary with no dynamic loader and no
// shared library (built here the same way; no container daemon needed).
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("../../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	stages := regexp.MustCompile(`(?m)^FROM \S+ AS (\S+)$`).FindAllStringSubmatch(df, -1)
	var names []string
	for _, s := range stages {
		names = append(names, s[1])
	}
	if strings.Join(names, ",") != "build,build-ocr,ocr,static" {
		t.Fatalf("stages %v", names)
	}
	if !strings.Contains(df, "CGO_ENABLED=0 go build") || !strings.Contains(df, "-tags ocr") || !strings.Contains(df, "libtesseract5") ||
		!strings.Contains(df, "USER 65532:65532") {
		t.Fatal("static build, OCR build with the Tesseract runtime and a non-root user expected")
	}
	bin := filepath.Join(t.TempDir(), "hdw")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/hdw")
	cmd.Dir = "../../.."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("static build: %v\n%s", err, out)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the binary needs a dynamic loader: not static")
		}
	}
	if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
		t.Fatalf("the binary needs %v: not static", libs)
	}
}
