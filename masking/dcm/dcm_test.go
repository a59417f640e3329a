package dcm_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"hdw/internal/testenv"
	"hdw/masking"
	"hdw/masking/dcm"
	"hdw/masking/dcm/internal/annexe"
	"hdw/synth"
)

// fakeUIDs is a deterministic stand-in for the keyed mapper the caller
// builds from an HMAC key.
func fakeUIDs(u string) string {
	h := sha256.Sum256([]byte("test-key|" + u))
	return "2.25." + new(big.Int).SetBytes(h[:16]).String()
}

func person() masking.Person {
	return masking.Person{Pseudonym: "PSEUDO7Q2X", DateShiftDays: -37}
}

func opts() masking.Options { return masking.Options{UIDs: fakeUIDs} }

// planted describes one identifying value planted in a synthetic file.
type planted struct {
	what, value string
}

// plantAll returns extra elements filling every Annex E attribute that has
// a string or sequence VR with a value unique to its tag, and the planted
// values to look for (SEC-PSE-4).
func plantAll(t *testing.T) ([]synth.DICOMElement, []planted) {
	t.Helper()
	rows, _ := annexe.All()
	var extra []synth.DICOMElement
	var plants []planted
	for _, r := range rows {
		if r.Group == 0x0002 || r.Group == 0x0000 || r.Group == 0x0004 {
			continue // file meta is planted by the Marker; command and DICOMDIR groups are not in files
		}
		id0 := uint32(r.Group)<<16 | uint32(r.Element)
		if setBySynth[id0] {
			continue
		}
		tg := tag.Tag{Group: r.Group, Element: r.Element}
		info, err := tag.Find(tg)
		if err != nil {
			continue
		}
		vr := info.VRs[0]
		id := uint32(r.Group)<<16 | uint32(r.Element)
		switch vr {
		case "SQ":
			v := fmt.Sprintf("SQPLANT%08X", id)
			extra = append(extra, synth.DICOMElement{Tag: id, VR: "SQ", Items: [][]synth.DICOMElement{{
				{Tag: 0x00100010, VR: "PN", Value: v},
				{Tag: 0x00081155, VR: "UI", Value: fmt.Sprintf("1.2.826.0.1.3680043.10.1561.77.%d", id)},
			}}})
			plants = append(plants, planted{r.Name + " item", v},
				planted{r.Name + " item uid", fmt.Sprintf("1.2.826.0.1.3680043.10.1561.77.%d", id)})
		case "UI":
			v := fmt.Sprintf("1.2.826.0.1.3680043.10.1561.88.%d", id)
			extra = append(extra, synth.DICOMElement{Tag: id, VR: vr, Value: v})
			plants = append(plants, planted{r.Name, v})
		case "DA":
			extra = append(extra, synth.DICOMElement{Tag: id, VR: vr, Value: "19730415"})
		case "DT":
			extra = append(extra, synth.DICOMElement{Tag: id, VR: vr, Value: "19730415101010"})
		case "TM", "US", "SS", "UL", "SL", "FL", "FD", "AT", "OB", "OW", "UN", "OF", "OD", "OL", "OV", "SV", "UV", "IS", "DS":
			// no identifying text in these VRs
		case "AE", "CS", "AS":
			v := fmt.Sprintf("P%08X", id)
			extra = append(extra, synth.DICOMElement{Tag: id, VR: vr, Value: v})
			plants = append(plants, planted{r.Name, v})
		default:
			v := fmt.Sprintf("PLANT%08X", id)
			extra = append(extra, synth.DICOMElement{Tag: id, VR: vr, Value: v})
			plants = append(plants, planted{r.Name, v})
		}
	}
	plants = append(plants, planted{"date", "19730415"})
	return extra, plants
}

// setBySynth are attributes the spec itself fills.
var setBySynth = map[uint32]bool{0x00100010: true, 0x00100020: true, 0x00100030: true, 0x00080080: true,
	0x00080090: true, 0x0020000D: true, 0x0020000E: true, 0x00080018: true, 0x00080050: true,
	0x00080020: true, 0x00080021: true, 0x00080023: true}

func synthSpec(extra []synth.DICOMElement) synth.DICOMSpec {
	return synth.DICOMSpec{
		PatientName: "Dubois^Amelie", PatientID: "IPP7731", BirthDate: "19410203", Sex: "F",
		InstitutionName: "Clinique des Lilas", ReferringPhysician: "Girard^Theo",
		StudyUID: "1.2.826.0.1.3680043.10.1561.5.1", SeriesUID: "1.2.826.0.1.3680043.10.1561.5.2",
		SOPUID: "1.2.826.0.1.3680043.10.1561.5.3", Modality: "CT", Manufacturer: "SynthCo", Model: "Synth 1",
		Rows: 32, Cols: 32, AccessionNumber: "ACC99812", StudyDate: "20190612", SeriesDate: "20190612",
		Marker: "ZORGLUBMARK", Extra: extra,
	}
}

func specPlants(s synth.DICOMSpec) []planted {
	return []planted{
		{"patient name", "Dubois"}, {"patient id", s.PatientID}, {"birth date", s.BirthDate},
		{"institution", "Lilas"}, {"referring", "Girard"}, {"study uid", s.StudyUID},
		{"series uid", s.SeriesUID}, {"sop uid", s.SOPUID}, {"accession", s.AccessionNumber},
		{"study date", s.StudyDate}, {"marker", s.Marker}, {"marker prefix", s.Marker[:8]},
	}
}

// gen writes a synthetic file (dcm.GenFile).
var gen = dcm.GenFile

func run(t testing.TB, in []byte, p masking.Person, o masking.Options) ([]byte, masking.Result, error) {
	t.Helper()
	h := dcm.New(dcm.Config{})
	if !h.Sniff(in[:min(len(in), 512)]) {
		t.Fatal("sniff failed")
	}
	var out bytes.Buffer
	res, err := h.Deidentify(context.Background(), &out, bytes.NewReader(in), int64(len(in)), p, o)
	return out.Bytes(), res, err
}

// runDICOM runs the handler with the default options but the DICOM ones
// (d), failing t on an error.
func runDICOM(t testing.TB, in []byte, d masking.DICOMOptions) ([]byte, masking.Result) {
	t.Helper()
	o := opts()
	o.DICOM = d
	out, res, err := run(t, in, person(), o)
	if err != nil {
		t.Fatal(err)
	}
	return out, res
}

func assertClean(t *testing.T, out []byte, plants []planted) {
	t.Helper()
	for _, p := range plants {
		if bytes.Contains(out, []byte(p.value)) {
			t.Errorf("planted %s (%q) found in output", p.what, p.value)
		}
	}
}

// TestAnnexEAllClasses_SEC_PSE_4 plants a value in every Annex E attribute
// (all action classes), in sequences three deep, private tags, the file
// meta, overlays and curves, and checks that none survives.
func TestAnnexEAllClasses_SEC_PSE_4(t *testing.T) {
	extra, plants := plantAll(t)
	if len(extra) < 300 {
		t.Fatalf("only %d attributes planted", len(extra))
	}
	s := synthSpec(extra)
	plants = append(plants, specPlants(s)...)
	in := gen(t, s)
	for _, p := range plants {
		if p.what != "marker prefix" && !bytes.Contains(in, []byte(p.value)) {
			t.Fatalf("plant %s missing from input", p.what)
		}
	}
	cases := []struct {
		name string
		o    masking.DICOMOptions
	}{
		{"default-research", masking.DICOMOptions{}},
		{"basic-modified-dates", masking.DICOMOptions{RetainLongitudinalModifiedDates: true}},
		{"basic-only-clean-descriptors-no-cleaner", masking.DICOMOptions{CleanDescriptors: true}},
		{"retain-safe-private-not-listed", masking.DICOMOptions{RetainLongitudinalModifiedDates: true, RetainSafePrivate: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, res := runDICOM(t, in, c.o)
			plants := plants
			if c.name == "default-research" {
				plants = withoutRetained(plants)
			}
			assertClean(t, out, plants)
			if res.PatientID != "IPP7731" || res.PatientName != "Dubois^Amelie" {
				t.Errorf("result identity as found: got %q %q", res.PatientID, res.PatientName)
			}
			if res.StudyInstanceUID != fakeUIDs(s.StudyUID) || res.SOPInstanceUID != fakeUIDs(s.SOPUID) || res.SeriesInstanceUID != fakeUIDs(s.SeriesUID) {
				t.Error("result uids not remapped")
			}
			if res.Format != "dicom" || res.Ext != ".dcm" || res.Modality != "CT" {
				t.Errorf("result: %+v", res)
			}
			checkOutput(t, out, plants)
		})
	}
}

// parseOut parses a de-identified output, pixel values unprocessed.
func parseOut(t *testing.T, out []byte) dicom.Dataset {
	t.Helper()
	ds, err := dicom.Parse(bytes.NewReader(out), int64(len(out)), nil, dicom.SkipProcessingPixelDataValue())
	if err != nil {
		t.Fatalf("output does not parse: %v", err)
	}
	return ds
}

// firstValue returns the first value of tg in out as text: "<absent>"
// when it is not there, a byte value as it is, "" for no value, "<other>"
// for any other kind.
func firstValue(t *testing.T, out []byte, tg tag.Tag) string {
	t.Helper()
	ds := parseOut(t, out)
	e, err := ds.FindElementByTag(tg)
	switch {
	case err != nil:
		return "<absent>"
	case e.Value.ValueType() == dicom.Bytes:
		return string(e.Value.GetValue().([]byte))
	case e.Value.ValueType() != dicom.Strings:
		return "<other>"
	}
	if v := dicom.MustGetStrings(e.Value); len(v) > 0 {
		return v[0]
	}
	return ""
}

func checkOutput(t *testing.T, out []byte, plants []planted) {
	t.Helper()
	ds := parseOut(t, out)
	str := func(tg tag.Tag) string {
		e, err := ds.FindElementByTag(tg)
		if err != nil {
			return ""
		}
		return strings.Join(dicom.MustGetStrings(e.Value), `\`)
	}
	for tg, want := range map[tag.Tag]string{
		tag.PatientName: "PSEUDO7Q2X", tag.PatientID: "PSEUDO7Q2X", tag.PatientIdentityRemoved: "YES",
		tag.SpecificCharacterSet: "ISO_IR 192",
	} {
		if got := str(tg); got != want {
			t.Errorf("%v = %q, want %q", tg, got, want)
		}
	}
	if ms := str(tag.MediaStorageSOPInstanceUID); ms != str(tag.SOPInstanceUID) || !strings.HasPrefix(ms, "2.25.") {
		t.Errorf("media storage sop instance uid %q", ms)
	}
	seq, err := ds.FindElementByTag(tag.DeidentificationMethodCodeSequence)
	if err != nil || len(seq.Value.GetValue().([]*dicom.SequenceItemValue)) == 0 {
		t.Error("no deidentification method code sequence")
	}
	dcmdumpCheck(t, out, plants)
}

func dcmdumpCheck(t *testing.T, out []byte, plants []planted) {
	t.Helper()
	bin, err := exec.LookPath("dcmdump")
	if err != nil {
		if testenv.Strict() {
			t.Fatal("dcmdump (dcmtk) not installed: make deps")
		}
		t.Log("dcmdump not installed (make deps): independent check skipped")
		return
	}
	f := filepath.Join(t.TempDir(), "out.dcm")
	if err := os.WriteFile(f, out, 0o600); err != nil {
		t.Fatal(err)
	}
	dump, err := exec.Command(bin, "-q", "+L", "-M", f).CombinedOutput()
	if err != nil || bytes.Contains(dump, []byte("E: ")) {
		t.Fatalf("dcmdump cannot read output: %v\n%s", err, dump)
	}
	for _, p := range plants {
		if bytes.Contains(dump, []byte(p.value)) {
			t.Errorf("dcmdump shows planted %s", p.what)
		}
	}
	if bin, err := exec.LookPath("dciodvfy"); err == nil {
		v, _ := exec.Command(bin, f).CombinedOutput()
		for _, p := range plants {
			if bytes.Contains(v, []byte(p.value)) {
				t.Errorf("dciodvfy shows planted %s", p.what)
			}
		}
	}
}

func tagOf(g, e uint16) tag.Tag { return tag.Tag{Group: g, Element: e} }

// withoutRetained drops the plants of attributes that Retain Patient
// Characteristics keeps by design (age, sex, size, weight...): their
// planted values are made-up codes, not identifiers of the person.
func withoutRetained(plants []planted) []planted {
	rows, _ := annexe.All()
	kept := map[string]bool{}
	for _, r := range rows {
		if r.RetainPatientCharacteristics == "K" {
			kept[r.Name] = true
		}
	}
	var out []planted
	for _, p := range plants {
		if !kept[p.what] {
			out = append(out, p)
		}
	}
	return out
}
