package dcm_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"hdw/masking"
	"hdw/masking/dcm"
	"hdw/synth"
)

func ExampleHandler_Deidentify() {
	var in bytes.Buffer
	if err := synth.DICOM(&in, synth.DICOMSpec{Modality: "CT", PatientName: "SYNTH^EXAMPLE"}); err != nil {
		panic(err)
	}
	h := dcm.New(dcm.Config{})
	o := masking.Options{UIDs: fakeUIDs} // in hdw: a keyed HMAC mapper to 2.25. UIDs
	p := masking.Person{Pseudonym: "PSEUDO1", DateShiftDays: -12}
	var out bytes.Buffer
	res, err := h.Deidentify(context.Background(), &out, &in, int64(in.Len()), p, o)
	if err != nil {
		fmt.Println(err) // a *masking.QuarantineError names the reason
		return
	}
	fmt.Println(res.Format, res.Ext, res.Modality, res.PatientName, bytes.Contains(out.Bytes(), []byte("EXAMPLE")))
	// Output: dicom .dcm CT SYNTH^EXAMPLE false
}

// TestLatin1Rewritten checks that text in ISO_IR 100 is written back as
// UTF-8 under ISO_IR 192.
func TestLatin1Rewritten(t *testing.T) {
	in := gen(t, synth.DICOMSpec{SpecificCharacterSet: "ISO_IR 100",
		Extra: []synth.DICOMElement{{Tag: 0x00080070, VR: "LO", Value: "Soci\xe9t\xe9"}}})
	out, _, err := run(t, in, person(), opts())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte("Société")) || !bytes.Contains(out, []byte("ISO_IR 192")) {
		t.Error("latin-1 text not rewritten as utf-8")
	}
}

// TestConcurrent runs one handler from several goroutines (its buffer pool
// is shared); run with -race.
func TestConcurrent(t *testing.T) {
	h := dcm.New(dcm.Config{})
	ins := [][]byte{gen(t, synth.DICOMSpec{Rows: 64, Cols: 64}), gen(t, synth.DICOMSpec{Rows: 128, Cols: 96, Modality: "US", Marker: "ZORGLUBMARK"})}
	want := make([][]byte, len(ins))
	for i, in := range ins {
		o := opts()
		o.Boxes = []masking.Box{{X0: 0, Y0: 0, X1: 10, Y1: 10}}
		want[i], _, _ = run(t, in, person(), o)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 20; k++ {
				i := (g + k) % len(ins)
				o := opts()
				o.Boxes = []masking.Box{{X0: 0, Y0: 0, X1: 10, Y1: 10}}
				var out bytes.Buffer
				if _, err := h.Deidentify(context.Background(), &out, bytes.NewReader(ins[i]), int64(len(ins[i])), person(), o); err != nil {
					t.Error(err)
					return
				}
				if !bytes.Equal(out.Bytes(), want[i]) {
					t.Error("concurrent output differs")
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestThroughDispatcher runs the handler through masking.Deidentifier, as
// the ingest does.
func TestThroughDispatcher(t *testing.T) {
	d := masking.New(dcm.New(dcm.Config{}))
	in := gen(t, synth.DICOMSpec{Marker: "ZORGLUBMARK"})
	var out bytes.Buffer
	res, err := d.Deidentify(context.Background(), &out, bytes.NewReader(in), int64(len(in)), person(), opts())
	if err != nil || res.Format != "dicom" || bytes.Contains(out.Bytes(), []byte("ZORGLUBMARK")) {
		t.Fatalf("%v %+v", err, res)
	}
	_, err = d.Deidentify(context.Background(), &out, bytes.NewReader(in[1:]), int64(len(in)-1), person(), opts())
	if !masking.IsQuarantine(err) {
		t.Fatalf("shifted preamble: %v", err)
	}
}
