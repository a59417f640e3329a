package dcm_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"testing"

	"hdw/masking"
	"hdw/masking/dcm"
	"hdw/synth"
)

// BenchmarkDeidentifyCT measures MB/s and files/s (ns/op) on synthetic
// 512x512 16-bit CT slices carrying planted identifiers.
func BenchmarkDeidentifyCT(b *testing.B) {
	in := gen(b, synth.DICOMSpec{Modality: "CT", Rows: 512, Cols: 512, Marker: "ZORGLUBMARK"})
	benchFile(b, in)
}

// BenchmarkDeidentifySmall measures a 128x128 CT slice (34 KiB), where
// the cost per file (parsing, walking, writing) dominates.
func BenchmarkDeidentifySmall(b *testing.B) {
	in := gen(b, synth.DICOMSpec{Modality: "CT", Rows: 128, Cols: 128, Marker: "BENCHMARKER", PatientName: "SYNTH^P0001", PatientID: "SYN00001"})
	benchFile(b, in)
}

// BenchmarkDeidentifySmallScan is the same through the residual scan, as
// the ingest runs it.
func BenchmarkDeidentifySmallScan(b *testing.B) {
	in := gen(b, synth.DICOMSpec{Modality: "CT", Rows: 128, Cols: 128, Marker: "BENCHMARKER", PatientName: "SYNTH^P0001", PatientID: "SYN00001"})
	benchFileWith(b, masking.New(dcm.New(dcm.Config{})), in)
}

// BenchmarkDeidentifyUSMasked measures a multi-frame ultrasound with a
// device mask blanking every frame.
func BenchmarkDeidentifyUSMasked(b *testing.B) {
	in := gen(b, synth.DICOMSpec{Modality: "US", Rows: 480, Cols: 640, Frames: 10, PlantText: true, Marker: "ZORGLUBMARK"})
	benchFile(b, in, func(o *optsT) { o.Boxes = boxes() })
}

func benchFile(b *testing.B, in []byte, mods ...func(*optsT)) {
	benchFileWith(b, dcm.New(dcm.Config{}), in, mods...)
}

type deidentifier interface {
	Deidentify(ctx context.Context, dst io.Writer, src io.Reader, size int64, p masking.Person, o masking.Options) (masking.Result, error)
}

func benchFileWith(b *testing.B, h deidentifier, in []byte, mods ...func(*optsT)) {
	o := opts()
	for _, m := range mods {
		m(&o)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := h.Deidentify(context.Background(), io.Discard, bytes.NewReader(in), int64(len(in)), person(), o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "files/s")
}

type optsT = masking.Options

func boxes() []masking.Box { return []masking.Box{{X0: 0, Y0: 0, X1: 640, Y1: 60}} }

// BenchmarkDeidentifySmallPerson is BenchmarkDeidentifySmallScan with the
// identifiers of a synthetic person, as bench/cmd/dcmbench -scan runs it,
// and a UID mapper that allocates nothing once warm: the allocations per
// file it reports are the de-identifier's and the scan's own.
func BenchmarkDeidentifySmallPerson(b *testing.B) {
	in := gen(b, synth.DICOMSpec{Modality: "CT", Rows: 128, Cols: 128, Marker: "BENCHMARKER", PatientName: "SYNTH^P0001", PatientID: "SYN00001"})
	sp := synth.NewPerson(rand.New(rand.NewPCG(1, 1)), 1)
	p := person()
	for _, v := range []string{sp.NIR, sp.PPI, sp.IEP, sp.LastName, sp.FirstName, sp.BirthDate, sp.BirthPlace, sp.Address,
		sp.PostalCode, sp.City, sp.Phone, sp.Email, "SYN00001", "BENCHMARKER"} {
		if v != "" {
			p.Identifiers = append(p.Identifiers, masking.Identifier{Kind: "OTHER", Value: v})
		}
	}
	uids := map[string]string{}
	o := masking.Options{UIDs: func(u string) string {
		m, ok := uids[u]
		if !ok {
			m = fakeUIDs(u)
			uids[u] = m
		}
		return m
	}}
	h := masking.New(dcm.New(dcm.Config{}))
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Deidentify(context.Background(), io.Discard, bytes.NewReader(in), int64(len(in)), p, o); err != nil {
			b.Fatal(err)
		}
	}
}
