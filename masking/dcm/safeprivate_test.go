package dcm_test

import (
	"bytes"
	"testing"

	"github.com/suyashkumar/dicom/pkg/tag"

	"hdw/masking/dcm"
	"hdw/synth"
)

// TestSEC_PSE_4_SafePrivateDefault: the research profile keeps the
// embedded safe private list (a GE CT's table speed, a Siemens b-value)
// under their own creators, and removes every other private element, a
// listed element under another creator included, and text planted there;
// the basic profile keeps none (issue 19 item 1, Retain Safe Private).
func TestSEC_PSE_4_SafePrivateDefault(t *testing.T) {
	in := gen(t, synth.DICOMSpec{Marker: "ZORGLUBMARK", Extra: []synth.DICOMElement{
		{Tag: 0x00190010, VR: "LO", Value: "GEMS_ACQU_01"},
		{Tag: 0x00191023, VR: "DS", Value: "39.375"},       // listed: table speed
		{Tag: 0x00191099, VR: "LO", Value: "ZORGLUBMARK"},  // not listed
		{Tag: 0x00210010, VR: "LO", Value: "OTHER VENDOR"}, // same element, another creator
		{Tag: 0x00211023, VR: "DS", Value: "12.5"},
		{Tag: 0x00510010, VR: "LO", Value: "SIEMENS MR HEADER"},
		{Tag: 0x0051100C, VR: "IS", Value: "1000"}, // b value, but in group 0051: not listed
	}})
	for _, c := range []struct {
		profile string
		tg      tag.Tag
		want    string
	}{
		{"research", tag.Tag{Group: 0x0019, Element: 0x0010}, "GEMS_ACQU_01"},
		{"research", tag.Tag{Group: 0x0019, Element: 0x1023}, "39.375"},
		{"research", tag.Tag{Group: 0x0019, Element: 0x1099}, "<absent>"},
		{"research", tag.Tag{Group: 0x0021, Element: 0x1023}, "<absent>"},
		{"research", tag.Tag{Group: 0x0021, Element: 0x0010}, "<absent>"},
		{"research", tag.Tag{Group: 0x0051, Element: 0x100C}, "<absent>"},
		{"basic", tag.Tag{Group: 0x0019, Element: 0x1023}, "<absent>"},
		{"basic", tag.Tag{Group: 0x0019, Element: 0x0010}, "<absent>"},
	} {
		o := opts()
		var err error
		if o.DICOM, err = dcm.Profile(c.profile); err != nil {
			t.Fatal(err)
		}
		out, _, err := run(t, in, person(), o)
		if err != nil {
			t.Fatalf("%s: %v", c.profile, err)
		}
		if got := firstValue(t, out, c.tg); got != c.want {
			t.Errorf("%s: %v = %q, want %q", c.profile, c.tg, got, c.want)
		}
		if bytes.Contains(out, []byte("ZORGLUBMARK")) {
			t.Errorf("%s: marker left", c.profile)
		}
	}
}
