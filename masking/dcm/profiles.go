package dcm

import (
	"fmt"
	"slices"
	"sort"

	"hdw/masking"
)

// Named option profiles (issue 19 item 1), chosen by name in the
// configuration (dicom.profile).
//
//   - "research" (the default, see [DefaultOptions]): Basic Profile with
//     Retain Longitudinal Temporal Information with Modified Dates (keyed
//     per-person shift), Clean Structured Content, Clean Graphics, Clean
//     Descriptors, Retain Patient Characteristics and Retain Safe Private
//     with the embedded [DefaultSafePrivate] list: the most research value
//     with no identifier left (free text is scrubbed of the person's
//     identifiers and of identifying patterns, never kept as it is).
//   - "basic": the Basic Profile with modified dates only; descriptors are
//     removed, SR content and graphics become dummy sequences.
//   - "strict": the Basic Profile alone (dates removed or dummies).
var profiles = map[string]masking.DICOMOptions{
	"research": {
		RetainLongitudinalModifiedDates: true, CleanStructuredContent: true, CleanGraphics: true,
		CleanDescriptors: true, RetainPatientCharacteristics: true,
		RetainSafePrivate: true, SafePrivate: DefaultSafePrivate,
	},
	"basic":  {RetainLongitudinalModifiedDates: true},
	"strict": {},
}

// DefaultProfile is the profile used when the configuration names none.
const DefaultProfile = "research"

// Profile returns the options of a named profile ("" is [DefaultProfile]).
func Profile(name string) (masking.DICOMOptions, error) {
	if name == "" {
		name = DefaultProfile
	}
	o, ok := profiles[name]
	if !ok {
		return masking.DICOMOptions{}, fmt.Errorf("dcm: unknown dicom profile %q (known: %v)", name, ProfileNames())
	}
	o.Profile = name
	o.SafePrivate = slices.Clone(o.SafePrivate) // callers may append theirs
	return o, nil
}

// ProfileNames lists the profile names, sorted.
func ProfileNames() []string {
	out := make([]string, 0, len(profiles))
	for k := range profiles {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
