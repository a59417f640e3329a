package dcm_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suyashkumar/dicom"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestGolden compares the de-identified synthetic CT (every Annex E
// attribute planted, default options) with a golden listing in
// testdata/dicom, so that any change of action shows in review.
// Regenerate with go test -run TestGolden -update.
func TestGolden(t *testing.T) {
	extra, _ := plantAll(t)
	out, _, err := run(t, gen(t, synthSpec(extra)), person(), opts())
	if err != nil {
		t.Fatal(err)
	}
	ds := parseOut(t, out)
	var b strings.Builder
	list(&b, ds.Elements, "")
	path := filepath.Join("..", "..", "testdata", "dicom", "golden", "annexe-ct-default.txt")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file missing (run with -update): %v", err)
	}
	if string(want) != b.String() {
		t.Errorf("output differs from %s (run with -update and review the diff)", path)
	}
}

func list(b *strings.Builder, els []*dicom.Element, indent string) {
	for _, e := range els {
		fmt.Fprintf(b, "%s(%04X,%04X) %s ", indent, e.Tag.Group, e.Tag.Element, e.RawValueRepresentation)
		switch e.Value.ValueType() {
		case dicom.Strings:
			fmt.Fprintf(b, "%q\n", dicom.MustGetStrings(e.Value))
		case dicom.Ints:
			fmt.Fprintf(b, "%v\n", dicom.MustGetInts(e.Value))
		case dicom.Floats:
			fmt.Fprintf(b, "%v\n", dicom.MustGetFloats(e.Value))
		case dicom.Bytes:
			fmt.Fprintf(b, "%d bytes\n", len(dicom.MustGetBytes(e.Value)))
		case dicom.PixelData:
			fmt.Fprintf(b, "pixel data\n")
		case dicom.Sequences:
			items := e.Value.GetValue().([]*dicom.SequenceItemValue)
			fmt.Fprintf(b, "%d items\n", len(items))
			for _, it := range items {
				list(b, it.GetValue().([]*dicom.Element), indent+"  ")
			}
		default:
			fmt.Fprintln(b)
		}
	}
}
