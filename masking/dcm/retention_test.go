package dcm_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/suyashkumar/dicom/pkg/tag"

	"hdw/masking"
	"hdw/masking/dcm"
	"hdw/synth"
)

// retained are attributes a research use needs and no profile may lose
// (MIDI-B style retention checks), with the value they must keep.
var retained = []struct {
	t     tag.Tag
	vr    string
	value string
	// research: kept only by the research profile (an option retains it)
	research bool
}{
	{tag.Modality, "CS", "CT", false},
	{tag.PixelSpacing, "DS", `0.7\0.7`, false},
	{tag.SliceThickness, "DS", "1.25", false},
	{tag.KVP, "DS", "120", false},
	{tag.BodyPartExamined, "CS", "CHEST", false},
	{tag.ConvolutionKernel, "SH", "B30f", false},
	{tag.XRayTubeCurrent, "IS", "250", false},
	{tag.ExposureTime, "IS", "500", false},
	{tag.ImageOrientationPatient, "DS", `1\0\0\0\1\0`, false},
	{tag.ImagePositionPatient, "DS", `-120\-120\35.5`, false},
	{tag.RescaleIntercept, "DS", "-1024", false},
	{tag.RescaleSlope, "DS", "1", false},
	{tag.WindowCenter, "DS", "40", false},
	{tag.Manufacturer, "LO", "SynthCo", false},
	{tag.StudyDescription, "LO", "CT THORAX SANS INJECTION", true},
	{tag.SeriesDescription, "LO", "THORAX 1.25 B30f", true},
	{tag.PatientAge, "AS", "062Y", true},
	{tag.PatientSex, "CS", "F", true},
	{tag.PatientWeight, "DS", "61", true},
	{tag.PatientSize, "DS", "1.65", true},
}

// TestRetentionScore is a MIDI-B style check: a score of the required
// actions passed, removals (every identifier of the file gone) and
// retentions (what the Basic Profile and the profile's options keep),
// per profile (issue 19 item 5). The research profile must pass all; the
// others all removals and every retention they promise.
func TestRetentionScore(t *testing.T) {
	var extra []synth.DICOMElement
	for _, r := range retained {
		extra = append(extra, synth.DICOMElement{Tag: r.t.Uint32(), VR: r.vr, Value: r.value})
	}
	// A descriptor naming the physician: scrubbed, the rest kept.
	extra = append(extra, synth.DICOMElement{Tag: tag.ImageComments.Uint32(), VR: "LT", Value: "vu par Dr Martin, CT THORAX"})
	s := synthSpec(extra)
	s.Sex = "F"
	in := gen(t, s)
	removals := append(specPlants(s), planted{"physician in comments", "Martin"})
	h := dcm.New(dcm.Config{Clean: masking.ScrubText})
	for _, profile := range dcm.ProfileNames() {
		o := opts()
		o.DICOM, _ = dcm.Profile(profile)
		var out bytes.Buffer
		if _, err := h.Deidentify(t.Context(), &out, bytes.NewReader(in), int64(len(in)), person(), o); err != nil {
			t.Fatal(err)
		}
		ds := parseOut(t, out.Bytes())
		passed, total, kept, keep := 0, 0, 0, 0
		for _, p := range removals {
			total++
			if !bytes.Contains(out.Bytes(), []byte(p.value)) {
				passed++
			} else {
				t.Errorf("%s: %s left", profile, p.what)
			}
		}
		for _, r := range retained {
			total++
			keep++
			e, err := ds.FindElementByTag(r.t)
			got := ""
			if err == nil {
				if v, ok := e.Value.GetValue().([]string); ok {
					got = strings.Join(v, `\`)
				}
			}
			if strings.TrimSpace(got) == r.value {
				passed++
				kept++
			} else if profile == dcm.DefaultProfile || !r.research {
				t.Errorf("%s: %v = %q, want %q kept", profile, r.t, got, r.value)
			}
		}
		t.Logf("profile %-8s: %d/%d required actions (removals %d/%d, retentions %d/%d)", profile, passed, total,
			passed-kept, len(removals), kept, keep)
	}
}
