package dcm_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/suyashkumar/dicom"

	"hdw/masking"
	"hdw/masking/dcm"
	"hdw/synth"
)

// codecCorpus is one file of every generated object class and transfer
// syntax, and the sample files of HDW_DICOM_SAMPLES when set.
func codecCorpus(t testing.TB) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	for i, s := range []synth.DICOMSpec{
		{Marker: "ZORGLUBMARK", Rows: 8, Cols: 8},
		{Modality: "US", Rows: 16, Cols: 16, Frames: 2, PlantText: true, Marker: "ZORGLUBMARK"},
		{TransferSyntax: synth.ImplicitVRLittleEndian, Marker: "ZORGLUBMARK", Rows: 8, Cols: 8},
		{TransferSyntax: synth.JPEGBaseline, Rows: 8, Cols: 8, Marker: "ZORGLUBMARK"},
		{Modality: "CT", Rows: 128, Cols: 128, Marker: "BENCHMARKER", PatientName: "SYNTH^P0001", PatientID: "SYN00001"},
		{Modality: "CT", Rows: 256, Cols: 256, Marker: "BENCHMARKER"}, // streamed: larger than the first read
		{TransferSyntax: synth.ImplicitVRLittleEndian, Modality: "MR", Rows: 256, Cols: 256, Marker: "ZORGLUBMARK"},
	} {
		files[fmt.Sprintf("spec%d", i)] = gen(t, s)
	}
	for _, class := range synth.ObjectClasses {
		var b bytes.Buffer
		if err := synth.DICOMObject(&b, synth.ObjectSpec{Class: class, PatientName: "Dubois^Amelie", Text: "Dubois"}); err != nil {
			t.Fatal(err)
		}
		files[class] = b.Bytes()
	}
	if dir := os.Getenv("HDW_DICOM_SAMPLES"); dir != "" {
		paths, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, p := range paths {
			if b, err := os.ReadFile(p); err == nil && len(b) < 64<<20 {
				files["sample "+filepath.Base(p)] = b
			}
		}
	}
	return files
}

// sameCodec checks that the fast decoder, when it takes a file, returns
// the library's dataset, that the fast encoder, when it takes a dataset,
// writes the library's bytes, and that de-identification gives the same
// output and the same error either way. It reports whether the fast
// decoder took the file.
func sameCodec(t *testing.T, in []byte) bool {
	t.Helper()
	fast := false
	for _, skip := range []bool{false, true} {
		if !dcm.PreScanned(in) {
			break // Deidentify quarantines it before any parser runs
		}
		got, err := dcm.DecodeFast(in, skip)
		if err != nil {
			if !errors.Is(err, dcm.ErrNotFast) {
				t.Fatalf("fast decoder: %v", err)
			}
			continue
		}
		fast = true
		want, err := dcm.DecodeLibrary(in, skip)
		if err != nil {
			t.Fatalf("fast decoder took a file the library refuses: %v", err)
		}
		if d := diffElements(got.Elements, want.Elements, ""); d != "" {
			t.Fatalf("skip=%v: fast decoder differs from the library: %s", skip, d)
		}
		sameEncoding(t, want)
	}
	o := opts()
	o.MaxPixels = 1 << 22
	o.Boxes = []masking.Box{{X0: 0, Y0: 0, X1: 4, Y1: 4}}
	var a, b bytes.Buffer
	ra, ea := dcm.New(dcm.Config{Clean: masking.ScrubText}).Deidentify(context.Background(), &a, bytes.NewReader(in), int64(len(in)), person(), o)
	rb, eb := dcm.NewLibraryCodec(dcm.Config{Clean: masking.ScrubText}).Deidentify(context.Background(), &b, bytes.NewReader(in), int64(len(in)), person(), o)
	if fmt.Sprint(ea) != fmt.Sprint(eb) {
		t.Fatalf("errors differ: fast %v, library %v", ea, eb)
	}
	if ea == nil && (!bytes.Equal(a.Bytes(), b.Bytes()) || !reflect.DeepEqual(ra, rb)) {
		t.Fatalf("de-identified outputs differ (%d and %d bytes)", a.Len(), b.Len())
	}
	return fast
}

// sameEncoding checks the fast encoder against dicom.Write on ds.
func sameEncoding(t *testing.T, ds dicom.Dataset) {
	t.Helper()
	got, err := dcm.EncodeFast(ds)
	if err != nil {
		if !errors.Is(err, dcm.ErrNotFast) {
			t.Fatalf("fast encoder: %v", err)
		}
		return
	}
	var want bytes.Buffer
	if err := dicom.Write(&want, ds, dicom.SkipVRVerification()); err != nil {
		t.Fatalf("fast encoder wrote a dataset the library refuses: %v", err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		n := 0
		for n < min(len(got), want.Len()) && got[n] == want.Bytes()[n] {
			n++
		}
		t.Fatalf("fast encoder differs from dicom.Write at byte %d (%d and %d bytes)", n, len(got), want.Len())
	}
}

// diffElements compares two element lists field by field (an empty and a
// nil list of items are the same); it returns where they differ.
func diffElements(a, b []*dicom.Element, at string) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%s: %d and %d elements", at, len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		where := fmt.Sprintf("%s/%v", at, x.Tag)
		if x.Tag != y.Tag || x.ValueRepresentation != y.ValueRepresentation || x.RawValueRepresentation != y.RawValueRepresentation || x.ValueLength != y.ValueLength {
			return fmt.Sprintf("%s: header %v %v %q %d vs %v %v %q %d", where, x.Tag, x.ValueRepresentation, x.RawValueRepresentation, x.ValueLength,
				y.Tag, y.ValueRepresentation, y.RawValueRepresentation, y.ValueLength)
		}
		if (x.Value == nil) != (y.Value == nil) {
			return where + ": nil value"
		}
		if x.Value == nil {
			continue
		}
		if x.Value.ValueType() != y.Value.ValueType() {
			return fmt.Sprintf("%s: value type %v vs %v", where, x.Value.ValueType(), y.Value.ValueType())
		}
		if x.Value.ValueType() == dicom.Sequences {
			xs, ys := x.Value.GetValue().([]*dicom.SequenceItemValue), y.Value.GetValue().([]*dicom.SequenceItemValue)
			if len(xs) != len(ys) {
				return fmt.Sprintf("%s: %d and %d items", where, len(xs), len(ys))
			}
			for j := range xs {
				if d := diffElements(xs[j].GetValue().([]*dicom.Element), ys[j].GetValue().([]*dicom.Element), fmt.Sprintf("%s[%d]", where, j)); d != "" {
					return d
				}
			}
			continue
		}
		if !reflect.DeepEqual(x.Value.GetValue(), y.Value.GetValue()) {
			return fmt.Sprintf("%s: value %v vs %v", where, x.Value, y.Value)
		}
	}
	return ""
}

// TestIssue19_CodecMatchesLibrary: the fast decoder and encoder that
// replace suyashkumar/dicom's parser and writer on the common files give
// the library's datasets and bytes, and the de-identified outputs are the
// same with either (the library stays the oracle and the fallback).
func TestIssue19_CodecMatchesLibrary(t *testing.T) {
	fast, total := 0, 0
	for name, in := range codecCorpus(t) {
		t.Run(name, func(t *testing.T) {
			total++
			if sameCodec(t, in) {
				fast++
			}
		})
	}
	t.Logf("fast decoder took %d of %d files", fast, total)
	if fast < total/2 {
		t.Errorf("fast decoder took only %d of %d files", fast, total)
	}
}

// FuzzCodecMatchesLibrary is the differential fuzz test of the fast codec
// against the library, on mutated files (run it with -fuzzminimizetime 1s:
// minimizing the first interesting inputs, kilobytes each, otherwise
// takes the first minutes).
func FuzzCodecMatchesLibrary(f *testing.F) {
	for _, in := range codecCorpus(f) {
		if len(in) < 1<<13 {
			f.Add(in)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		sameCodec(t, in)
	})
}

// rawFile builds a Part 10 file of the transfer syntax ts (explicit or
// implicit VR little endian) around the dataset bytes body.
func rawFile(ts string, body []byte) []byte {
	el := func(g, e uint16, vr string, v []byte) []byte {
		b := []byte{byte(g), byte(g >> 8), byte(e), byte(e >> 8), vr[0], vr[1]}
		if vr == "OB" || vr == "UN" || vr == "SQ" {
			b = append(b, 0, 0, byte(len(v)), byte(len(v)>>8), byte(len(v)>>16), byte(len(v)>>24))
		} else {
			b = append(b, byte(len(v)), byte(len(v)>>8))
		}
		return append(b, v...)
	}
	uid := func(s string) []byte {
		if len(s)%2 == 1 {
			s += "\x00"
		}
		return []byte(s)
	}
	meta := append(el(2, 1, "OB", []byte{0, 1}), el(2, 2, "UI", uid("1.2.840.10008.5.1.4.1.1.2"))...)
	meta = append(meta, el(2, 3, "UI", uid("1.2.3.4"))...)
	meta = append(meta, el(2, 0x10, "UI", uid(ts))...)
	n := len(meta)
	out := append(make([]byte, 128), "DICM"...)
	out = append(out, el(2, 0, "UL", []byte{byte(n), byte(n >> 8), 0, 0})...)
	return append(append(out, meta...), body...)
}

// TestIssue19_CodecItemsLikeLibrary: sequences of defined and undefined
// length with empty and non-empty items of both kinds, in explicit and
// implicit VR, decode as the library decodes them.
func TestIssue19_CodecItemsLikeLibrary(t *testing.T) {
	u32 := func(v uint32) []byte { return []byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)} }
	item := func(vl uint32, body []byte) []byte {
		return append(append([]byte{0xFE, 0xFF, 0, 0xE0}, u32(vl)...), body...)
	}
	itemEnd := []byte{0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0}
	seqEnd := []byte{0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0}
	for _, explicit := range []bool{true, false} {
		ts := synth.ImplicitVRLittleEndian
		text := []byte{0x08, 0x00, 0x30, 0x10, 8, 0, 0, 0} // (0008,1030) implicit, 8 bytes
		seq := func(vl uint32) []byte { return append([]byte{0x08, 0x00, 0x15, 0x11}, u32(vl)...) }
		if explicit {
			ts = "1.2.840.10008.1.2.1"
			text = []byte{0x08, 0x00, 0x30, 0x10, 'L', 'O', 8, 0}
			seq = func(vl uint32) []byte { return append([]byte{0x08, 0x00, 0x15, 0x11, 'S', 'Q', 0, 0}, u32(vl)...) }
		}
		text = append(text, "ABDOMEN "...)
		var items []byte
		items = append(items, item(0, nil)...)                               // empty, defined
		items = append(items, item(0xFFFFFFFF, itemEnd)...)                  // empty, undefined
		items = append(items, item(uint32(len(text)), text)...)              // defined
		items = append(items, item(0xFFFFFFFF, append(text, itemEnd...))...) // undefined
		for _, body := range [][]byte{
			append(append(seq(0xFFFFFFFF), items...), seqEnd...),
			append(seq(uint32(len(items))), items...),
			append(seq(0), text...),
		} {
			in := rawFile(ts, body)
			got, err := dcm.DecodeFast(in, true)
			if err != nil {
				t.Fatalf("explicit=%v: fast decoder: %v", explicit, err)
			}
			want, err := dcm.DecodeLibrary(in, true)
			if err != nil {
				t.Fatalf("explicit=%v: library: %v", explicit, err)
			}
			if d := diffElements(got.Elements, want.Elements, ""); d != "" {
				t.Fatalf("explicit=%v: %s", explicit, d)
			}
		}
	}
}
