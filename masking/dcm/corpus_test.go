package dcm_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/suyashkumar/dicom/pkg/tag"

	"hdw/masking"
	"hdw/masking/dcm"
	"hdw/masking/dcm/internal/annexe"
	"hdw/synth"
)

// corpusPerson is the person whose identifiers the corpus plants.
func corpusPerson() masking.Person {
	return masking.Person{Pseudonym: "PSEUDO7Q2X", DateShiftDays: -37, Identifiers: []masking.Identifier{
		{Kind: "LAST_NAME", Value: "Dubois"}, {Kind: "FIRST_NAME", Value: "Amelie"},
		{Kind: "BIRTH_DATE", Value: "1941-02-03"}, {Kind: "NIR", Value: "2410275123456"},
		{Kind: "TEL", Value: "0612345678"}, {Kind: "PHYSICIAN", Value: "Girard Theo"},
		{Kind: "IEP", Value: "IPP7731"},
	}}
}

// corpusText is the identifying free text planted everywhere.
const corpusText = "Dubois Amelie 03/02/1941 NIR 2410275123456 tel 0612345678 Dr Girard"

// corpusNeedles are the forms of the person's identifiers that must not
// be in any output, with the root of every synthetic UID.
var corpusNeedles = []string{"Dubois", "DUBOIS", "Amelie", "AMELIE", "19410203", "1941-02-03", "03/02/1941",
	"2410275123456", "0612345678", "Girard", "GIRARD", "IPP7731", "1.2.826.0.1.3680043.10.1561"}

// vrPlant is the planted value of each text-bearing VR.
var vrPlant = map[string]string{
	"PN": "Dubois^Amelie", "LO": "Dubois Amelie 03/02/1941", "LT": corpusText, "ST": corpusText,
	"UT": corpusText, "UC": corpusText, "SH": "Dubois Amelie", "AE": "DUBOIS", "DA": "19410203",
	"DT": "19410203101500", "UR": "http://pacs/Dubois", "CS": "DUBOIS", "IS": "19410203", "DS": "19410203",
	"UI": "1.2.826.0.1.3680043.10.1561.66.1",
}

// codeTags are the coded-vocabulary attributes kept verbatim (they are not
// free text): not used as plant sites.
var codeTags = map[uint32]bool{0x00080100: true, 0x00080102: true, 0x00080103: true, 0x00080105: true,
	0x00080106: true, 0x0008010F: true, 0x00080117: true, 0x00080119: true, 0x00080120: true, 0x0008010C: true,
	0x00080118: true, 0x00080016: true, 0x00081150: true, 0x0008001A: true, 0x0008001B: true, 0x00081490: true,
	0x0040A040: true, 0x0040A010: true, 0x0040DB00: true, 0x0040DB06: true, 0x0040A050: true, 0x00080005: true}

// unlistedSites returns, for each planted VR, n public attributes of the
// dictionary that Table E.1-1 does not name (the VR rule must clean them),
// and n unlisted sequences to nest them in.
func unlistedSites(t *testing.T, n int) (map[string][]uint32, []uint32) {
	t.Helper()
	sites := map[string][]uint32{}
	var seqs []uint32
	for _, g := range []uint16{0x0008, 0x0018, 0x0020, 0x0028, 0x0040, 0x0070, 0x0072, 0x3006, 0x300A} {
		for el := 0x0001; el <= 0xFFFF; el++ {
			tg := tag.Tag{Group: g, Element: uint16(el)}
			id := uint32(g)<<16 | uint32(el)
			if _, listed := annexe.Lookup(g, uint16(el)); listed || codeTags[id] {
				continue
			}
			info, err := tag.Find(tg)
			if err != nil || len(info.VRs) != 1 || strings.Contains(info.Name, "Retired") {
				continue
			}
			vr := info.VRs[0]
			if vr == "SQ" && len(seqs) < n {
				seqs = append(seqs, id)
			}
			if _, ok := vrPlant[vr]; ok && len(sites[vr]) < n {
				sites[vr] = append(sites[vr], id)
			}
		}
	}
	for _, vr := range []string{"PN", "LO", "LT", "ST", "UT", "SH", "UC", "CS", "IS", "DS", "UI", "UR"} {
		if len(sites[vr]) == 0 {
			t.Fatalf("no unlisted attribute of VR %s in the dictionary", vr)
		}
	}
	// Table E.1-1 names every AE, DA and DT attribute of these groups:
	// they are planted in the listed places of the object classes.
	if len(seqs) < n {
		t.Fatal("too few unlisted sequences")
	}
	return sites, seqs
}

// deepPlants returns attributes planting every text-bearing VR at depths 0
// to 4: at the top level and in unlisted sequences nested 1 to 4 deep, plus
// private tags with and without a creator at each depth.
func deepPlants(t *testing.T) []synth.DICOMElement {
	sites, seqs := unlistedSites(t, 4)
	level := func(depth int) []synth.DICOMElement {
		var els []synth.DICOMElement
		for vr, tags := range sites {
			for _, id := range tags {
				els = append(els, synth.DICOMElement{Tag: id, VR: vr, Value: vrPlant[vr]})
			}
		}
		els = append(els,
			synth.DICOMElement{Tag: 0x00430010, VR: "LO", Value: "HDW TEST CREATOR"},
			synth.DICOMElement{Tag: 0x00431001, VR: "LO", Value: corpusText},
			synth.DICOMElement{Tag: 0x00431002, VR: "PN", Value: "Dubois^Amelie"},
			synth.DICOMElement{Tag: 0x00451001, VR: "LO", Value: corpusText}, // no creator
		)
		return els
	}
	var nest func(depth int) []synth.DICOMElement
	nest = func(depth int) []synth.DICOMElement {
		els := level(depth)
		if depth < 4 {
			els = append(els, synth.DICOMElement{Tag: seqs[depth], VR: "SQ", Items: [][]synth.DICOMElement{nest(depth + 1)}})
			// and in listed sequences: Person Identification Code Sequence
			// (D: a strict dummy sequence) and Acquisition Context Sequence
			// (X/Z, or C with Clean Structured Content).
			els = append(els, synth.DICOMElement{Tag: 0x00401101, VR: "SQ", Items: [][]synth.DICOMElement{level(depth + 1)}},
				synth.DICOMElement{Tag: 0x00400555, VR: "SQ", Items: [][]synth.DICOMElement{level(depth + 1)}})
		}
		return els
	}
	return nest(0)
}

// TestSEC_PSE_4_CorpusDeidentifierAlone de-identifies a generated corpus
// (every object class, identifiers planted at depths 0 to 4 in every
// text-bearing VR, private tags with and without creator, SR content
// items, RT ROI names, presentation-state text, waveform annotations,
// graphic layer descriptions and file meta) with the DICOM handler alone,
// without the residual scan, under every profile: no planted identifier is
// left, and the residual scan then finds nothing (issue 19 items 1-3).
func TestSEC_PSE_4_CorpusDeidentifierAlone(t *testing.T) {
	p := corpusPerson()
	plants := deepPlants(t)
	h := dcm.New(dcm.Config{Clean: masking.ScrubText})
	stored, left := 0, 0
	for _, profile := range dcm.ProfileNames() {
		dopts, err := dcm.Profile(profile)
		if err != nil {
			t.Fatal(err)
		}
		for _, class := range synth.ObjectClasses {
			t.Run(profile+"/"+class, func(t *testing.T) {
				var in bytes.Buffer
				spec := synth.ObjectSpec{Class: class, PatientName: "Dubois^Amelie", PatientID: "IPP7731", BirthDate: "19410203",
					Name: "Girard^Theo", Text: corpusText, Extra: plants,
					StudyUID: "1.2.826.0.1.3680043.10.1561.3.1", SeriesUID: "1.2.826.0.1.3680043.10.1561.3.2", SOPUID: "1.2.826.0.1.3680043.10.1561.3.3"}
				if class == synth.ClassDICOMDIR {
					spec.Extra = nil
				}
				if err := synth.DICOMObject(&in, spec); err != nil {
					t.Fatal(err)
				}
				for _, n := range []string{"Dubois", "2410275123456"} {
					if !bytes.Contains(in.Bytes(), []byte(n)) {
						t.Fatalf("plant %q missing from the input", n)
					}
				}
				o := opts()
				o.DICOM = dopts
				var out bytes.Buffer
				_, err := h.Deidentify(t.Context(), &out, bytes.NewReader(in.Bytes()), int64(in.Len()), p, o)
				switch class {
				case synth.ClassPDF, synth.ClassCDA:
					wantQuarantine(t, err, dcm.ReasonEncapsulatedDocument)
					return
				case synth.ClassDICOMDIR:
					// A media index, not an instance: rejected, not quarantined.
					if !masking.IsReject(err) || !strings.Contains(err.Error(), dcm.ReasonDICOMDIR) {
						t.Fatalf("DICOMDIR: want rejected %q, got %v", dcm.ReasonDICOMDIR, err)
					}
					return
				}
				if err != nil {
					t.Fatalf("not de-identified: %v", err)
				}
				stored++
				for _, n := range corpusNeedles {
					if c := bytes.Count(out.Bytes(), []byte(n)); c > 0 {
						left += c
						t.Errorf("%d × %q left by the de-identifier", c, n)
					}
				}
				sc := masking.NewScanner(p)
				_, _ = sc.Write(out.Bytes())
				if kind, hit := sc.Hit(); hit {
					t.Errorf("residual scan finds %s in the output", kind)
				}
				if profile == dcm.DefaultProfile {
					dcmdumpCheck(t, out.Bytes(), nil)
					keepsResearchValue(t, class, out.Bytes())
				}
			})
		}
	}
	t.Logf("corpus: %d outputs, %d identifiers left by the de-identifier alone", stored, left)
}

func wantQuarantine(t *testing.T, err error, reason string) {
	t.Helper()
	var q *masking.QuarantineError
	if !masking.IsQuarantine(err) {
		t.Fatalf("want quarantine %q, got %v", reason, err)
	}
	_ = q
	if !strings.Contains(err.Error(), reason) {
		t.Fatalf("reason %q, want %q", err, reason)
	}
}

// keepsResearchValue checks what the research profile keeps: the SR tree
// (concept names, codes, numeric values, units), scrubbed text, ROI and
// waveform structure, ECG samples.
func keepsResearchValue(t *testing.T, class string, out []byte) {
	t.Helper()
	var want []string
	switch class {
	case synth.ClassBasicTextSR, synth.ClassEnhancedSR, synth.ClassComprehensiveSR, synth.ClassDoseSR, synth.ClassKOS:
		want = []string{"Mean CTDIvol", "113830", "12.5", "mGy", "UCUM", "T-D3000", "Chest", "Report for NAME_OF_BIRTH", "CT THORAX"}
	case synth.ClassRTStruct:
		want = []string{"GTV NAME_OF_BIRTH", "CLOSED_PLANAR", "12345.5"}
	case synth.ClassECG:
		want = []string{"ECG of NAME_OF_BIRTH", "Lead II", "SCPECG"}
	case synth.ClassGSPS:
		want = []string{"arrow: NAME_OF_BIRTH", "LAYER1"}
	}
	for _, w := range want {
		if !bytes.Contains(out, []byte(w)) {
			t.Errorf("research profile lost %q", w)
		}
	}
}

// TestObjectClassesValid de-identifies one file of every object class and
// checks the output with dcmdump and, where it knows the IOD, dciodvfy: no
// more errors than in the input (issue 19 item 3).
func TestObjectClassesValid(t *testing.T) {
	h := dcm.New(dcm.Config{Clean: masking.ScrubText})
	for _, class := range synth.ObjectClasses {
		if class == synth.ClassPDF || class == synth.ClassCDA || class == synth.ClassDICOMDIR {
			continue
		}
		t.Run(class, func(t *testing.T) {
			var in bytes.Buffer
			if err := synth.DICOMObject(&in, synth.ObjectSpec{Class: class, PatientName: "Dubois^Amelie", Text: "Dubois"}); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			res, err := h.Deidentify(t.Context(), &out, bytes.NewReader(in.Bytes()), int64(in.Len()), corpusPerson(), opts())
			if err != nil {
				t.Fatal(err)
			}
			if res.SOPInstanceUID == "" || res.Modality == "" {
				t.Errorf("result %+v", res)
			}
			dcmdumpCheck(t, out.Bytes(), []planted{{"name", "Dubois"}})
			if dir := os.Getenv("HDW_OBJECTS_OUT"); dir != "" {
				_ = os.WriteFile(filepath.Join(dir, class+".in.dcm"), in.Bytes(), 0o600)
				_ = os.WriteFile(filepath.Join(dir, class+".out.dcm"), out.Bytes(), 0o600)
			}
			if _, err := exec.LookPath("dciodvfy"); err == nil {
				a, b := dciodvfyErrors(t, writeTemp(t, in.Bytes())), dciodvfyErrors(t, writeTemp(t, out.Bytes()))
				if b > a {
					t.Errorf("dciodvfy: %d errors in the output, %d in the input", b, a)
				}
				t.Logf("dciodvfy errors: input %d, output %d", a, b)
			}
		})
	}
}
