package dcm_test

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"testing"

	"hdw/synth"
)

// deflateFile rewrites an Explicit VR Little Endian file as Deflated
// Explicit VR Little Endian (PS3.5 A.5): transfer syntax replaced in the
// file meta, dataset deflated.
func deflateFile(t *testing.T, in []byte) []byte {
	t.Helper()
	metaEnd := 144 + int(binary.LittleEndian.Uint32(in[140:144]))
	old := []byte("1.2.840.10008.1.2.1\x00")
	i := bytes.Index(in[:metaEnd], old)
	if i < 8 {
		t.Fatal("no explicit little endian transfer syntax in the meta")
	}
	var meta []byte
	meta = append(meta, in[144:i-2]...)
	meta = binary.LittleEndian.AppendUint16(meta, 22)
	meta = append(meta, "1.2.840.10008.1.2.1.99"...)
	meta = append(meta, in[i+len(old):metaEnd]...)
	var out bytes.Buffer
	out.Write(in[:140])
	_ = binary.Write(&out, binary.LittleEndian, uint32(len(meta)))
	out.Write(meta)
	w, _ := flate.NewWriter(&out, flate.BestCompression)
	_, _ = w.Write(in[metaEnd:])
	_ = w.Close()
	return out.Bytes()
}

// TestDeflatedSyntax de-identifies a Deflated Explicit VR Little Endian
// file (inflated, bounded, written native) with identifiers planted, and a
// deflate bomb is quarantined (issue 19 item 4).
func TestDeflatedSyntax(t *testing.T) {
	s := synthSpec(nil)
	plain := gen(t, s)
	in := deflateFile(t, plain)
	if bytes.Contains(in, []byte("Dubois")) {
		t.Fatal("input not deflated")
	}
	out, res, err := run(t, in, person(), opts())
	if err != nil {
		t.Fatal(err)
	}
	plants := specPlants(s)
	assertClean(t, out, plants)
	checkOutput(t, out, plants)
	if !bytes.Contains(out, []byte("1.2.840.10008.1.2.1\x00")) || res.SOPInstanceUID == "" {
		t.Error("output not written in explicit little endian")
	}
	o := opts()
	o.MaxBytes = int64(len(plain)) / 2
	if _, _, err := run(t, in, person(), o); err == nil {
		t.Error("a dataset inflating past the limit was accepted")
	}
}

// TestBigEndianAndImplicitPrivate de-identifies Explicit VR Big Endian
// (retired) and Implicit VR Little Endian files with private tags.
func TestBigEndianAndImplicitPrivate(t *testing.T) {
	for _, ts := range []string{"1.2.840.10008.1.2.2", synth.ImplicitVRLittleEndian} {
		s := synthSpec(nil)
		s.TransferSyntax = ts
		in := gen(t, s)
		out, _, err := run(t, in, person(), opts())
		if err != nil {
			t.Fatalf("%s: %v", ts, err)
		}
		plants := specPlants(s)
		assertClean(t, out, plants)
		checkOutput(t, out, plants)
	}
}

// TestDeflatedHandBuilt de-identifies the hand-built deflated file of
// TestQuarantine's former case (deflated is now supported).
func TestDeflatedHandBuilt(t *testing.T) {
	out, _, err := run(t, deflated(t), person(), opts())
	if err != nil {
		t.Fatal(err)
	}
	dcmdumpCheck(t, out, nil)
}
