package dcm

import (
	"strings"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"hdw/masking"
)

// Reasons for objects that are not de-identified (issue 19 item 3).
const (
	ReasonEncapsulatedDocument = "encapsulated document: text not verifiable"
	ReasonDICOMDIR             = "dicomdir: a media index, not an instance (its referenced files are ingested on their own)"
	ReasonImageWithoutPixels   = "dicom image without pixel data"
)

const (
	sopDICOMDIR        = "1.2.840.10008.1.3.10"
	prefixEncapsulated = "1.2.840.10008.5.1.4.1.1.104."
)

// objectClass refuses the objects that cannot be made clean by the
// attribute walk: encapsulated documents (PDF, CDA, STL, OBJ, MTL), whose
// text is not verifiable, and DICOMDIR media indexes.
func (d *deid) objectClass(meta, body []*dicom.Element) error {
	ms := firstString(find(meta, tag.MediaStorageSOPClassUID))
	switch {
	case ms == sopDICOMDIR || d.sopClass == sopDICOMDIR || find(body, tag.DirectoryRecordSequence) != nil:
		return masking.Quarantine(ReasonDICOMDIR)
	case strings.HasPrefix(d.sopClass, prefixEncapsulated) || find(body, tag.EncapsulatedDocument) != nil:
		return masking.Quarantine(ReasonEncapsulatedDocument)
	}
	return nil
}

// nonImage reports whether a dataset without pixel data is an object that
// has none by definition (structured reports, RT structure sets and plans,
// waveforms, presentation states, key object selections, raw data,
// spectroscopy...): it declares no image dimensions and no float pixel
// data. Such an object is de-identified by the walk alone; an image
// without its pixels is quarantined.
func (d *deid) nonImage(body []*dicom.Element) bool {
	if d.sopClass == "" {
		return false
	}
	for _, t := range []tag.Tag{tag.Rows, tag.Columns, tag.FloatPixelData, tag.DoubleFloatPixelData} {
		if find(body, t) != nil {
			return false
		}
	}
	return true
}
