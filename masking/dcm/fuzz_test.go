package dcm_test

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"hdw/masking"
	"hdw/masking/dcm"
	"hdw/masking/dcm/internal/annexe"
	"hdw/synth"
)

// FuzzDeidentify checks the walker on mutated files: it never panics, every
// error is a quarantine, and every output parses, carries the pseudonym,
// holds no private attribute and no attribute the profile removes.
func FuzzDeidentify(f *testing.F) {
	for _, s := range []synth.DICOMSpec{
		{Marker: "ZORGLUBMARK", Rows: 8, Cols: 8},
		{Modality: "US", Rows: 16, Cols: 16, Frames: 2, PlantText: true, Marker: "ZORGLUBMARK"},
		{TransferSyntax: synth.ImplicitVRLittleEndian, Marker: "ZORGLUBMARK", Rows: 8, Cols: 8},
		{TransferSyntax: synth.JPEGBaseline, Rows: 8, Cols: 8, Marker: "ZORGLUBMARK"},
	} {
		b := gen(f, s)
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	h := dcm.New(dcm.Config{})
	f.Fuzz(func(t *testing.T, in []byte) {
		o := opts()
		o.DICOM = masking.DICOMOptions{RetainLongitudinalModifiedDates: true} // the removals checked below are the basic profile's
		o.MaxPixels = 1 << 20
		o.Boxes = []masking.Box{{X0: 0, Y0: 0, X1: 4, Y1: 4}}
		var out bytes.Buffer
		_, err := h.Deidentify(context.Background(), &out, bytes.NewReader(in), int64(len(in)), person(), o)
		if err != nil {
			if !masking.IsQuarantine(err) && !masking.IsReject(err) {
				t.Fatalf("error is neither a quarantine nor a rejection: %v", err)
			}
			return
		}
		clean := bytes.Contains(in, []byte("ZORGLUBMARK"))
		checkWalked(t, out.Bytes(), clean)
	})
}

func checkWalked(t *testing.T, out []byte, markerPlanted bool) {
	t.Helper()
	ds := parseOut(t, out)
	for e := range ds.FlatIterator() {
		g, el := e.Tag.Group, e.Tag.Element
		if info, err := tag.Find(e.Tag); err == nil && e.RawValueRepresentation != "" && !slices.Contains(info.VRs, e.RawValueRepresentation) &&
			!(e.Tag == tag.PixelData && (e.RawValueRepresentation == "OB" || e.RawValueRepresentation == "OW")) {
			t.Fatalf("bad VR %s for %v in output (dictionary: %v)", e.RawValueRepresentation, e.Tag, info.VRs)
		}
		if g%2 == 1 {
			t.Fatalf("private attribute %v in output", e.Tag)
		}
		if g >= 0x5000 && g <= 0x60FF && (g <= 0x50FF || g >= 0x6000) {
			t.Fatalf("curve or overlay %v in output", e.Tag)
		}
		row, ok := annexe.Lookup(g, el)
		if ok && row.Basic == "X" && row.RetainLongitudinalModifiedDates == "" && g != 0x0002 {
			t.Fatalf("removed attribute %v in output", e.Tag)
		}
		if ok && markerPlanted && e.Value != nil && e.Value.ValueType() == dicom.Strings {
			for _, s := range dicom.MustGetStrings(e.Value) {
				if bytes.Contains([]byte(s), []byte("ZORGLUB")) {
					t.Fatalf("planted value in listed attribute %v", e.Tag)
				}
			}
		}
	}
	for _, tg := range []struct{ g, e uint16 }{{0x0010, 0x0010}, {0x0010, 0x0020}} {
		e, err := ds.FindElementByTag(tagOf(tg.g, tg.e))
		if err != nil || dicom.MustGetStrings(e.Value)[0] != "PSEUDO7Q2X" {
			t.Fatalf("identity attribute (%04x,%04x) not the pseudonym", tg.g, tg.e)
		}
	}
}
