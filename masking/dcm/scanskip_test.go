package dcm_test

import (
	"bytes"
	"strings"
	"testing"

	"hdw/masking"
	"hdw/masking/dcm"
	"hdw/synth"
)

// TestSEC_PSE_4_ScanSkipsOnlyPixelValues checks the residual scan's cost
// cut (issue 19 item 7): native pixel sample values that the handler copies
// are not read by the scan (bytes that happen to spell a name there are no
// hit), while an identifier that a broken cleaner lets through into any
// other element, at any depth, is still caught.
func TestSEC_PSE_4_ScanSkipsOnlyPixelValues(t *testing.T) {
	p := corpusPerson()
	noop := func(s string, _ masking.Person) string { return s } // a broken cleaner
	run := func(cfg dcm.Config, in []byte) error {
		d := masking.New(dcm.New(cfg))
		var out bytes.Buffer
		o := opts()
		_, err := d.Deidentify(t.Context(), &out, bytes.NewReader(in), int64(len(in)), p, o)
		return err
	}
	// Pixel values spelling the name, nothing else identifying.
	s := synth.DICOMSpec{Rows: 64, Cols: 64, BitsAllocated: 8, Modality: "CT",
		Extra: []synth.DICOMElement{{Tag: 0x00081030, VR: "LO", Value: "CT THORAX"}}}
	in := gen(t, s)
	copy(in[len(in)-2000:], strings.Repeat("Dubois Amelie ", 20)) // the pixel value ends the file
	if err := run(dcm.Config{Clean: masking.ScrubText}, in); err != nil {
		t.Fatalf("pixel values read by the scan: %v", err)
	}
	// The same output scanned whole does hit: the skip is what passes it.
	var out bytes.Buffer
	if _, err := dcm.New(dcm.Config{Clean: masking.ScrubText}).Deidentify(t.Context(), &out, bytes.NewReader(in), int64(len(in)), p, opts()); err != nil {
		t.Fatal(err)
	}
	sc := masking.NewScanner(p)
	_, _ = sc.Write(out.Bytes())
	if _, hit := sc.Hit(); !hit {
		t.Fatal("the planted pixel bytes are not in the output")
	}
	// An identifier left in an element by a broken cleaner, at depths 0-2.
	for depth := 0; depth <= 2; depth++ {
		leaf := []synth.DICOMElement{{Tag: 0x00180015, VR: "CS", Value: "CHEST"}, {Tag: 0x00081030, VR: "LO", Value: "suivi Dubois"}}
		for k := 0; k < depth; k++ {
			leaf = []synth.DICOMElement{{Tag: 0x00400260, VR: "SQ", Items: [][]synth.DICOMElement{leaf}}}
		}
		in := gen(t, synth.DICOMSpec{Rows: 8, Cols: 8, Extra: append(leaf, synth.DICOMElement{Tag: 0x0040A730, VR: "SQ",
			Items: [][]synth.DICOMElement{{{Tag: 0x0040A160, VR: "UT", Value: "report on Dubois"}}}})})
		err := run(dcm.Config{Clean: noop}, in)
		if !masking.IsQuarantine(err) || !strings.Contains(err.Error(), "residual identifier") {
			t.Errorf("depth %d: identifier left by a broken cleaner not caught by the scan: %v", depth, err)
		}
	}
}
