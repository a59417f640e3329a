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

var tagSpectroscopyData = tag.Tag{Group: 0x5600, Element: 0x0020}

const (
	sopDICOMDIR        = "1.2.840.10008.1.3.10"
	sopSpectroscopy    = "1.2.840.10008.5.1.4.1.1.4.2"
	prefixEncapsulated = "1.2.840.10008.5.1.4.1.1.104."
)

// objectClass refuses the objects that cannot be made clean by the
// attribute walk: encapsulated documents (PDF, CDA, STL, OBJ, MTL), whose
// text is not verifiable (quarantined), and DICOMDIR media indexes
// (rejected: not an instance).
func (d *deid) objectClass(meta, body []*dicom.Element) error {
	ms := firstString(find(meta, tag.MediaStorageSOPClassUID))
	switch {
	case ms == sopDICOMDIR || d.sopClass == sopDICOMDIR || find(body, tag.DirectoryRecordSequence) != nil:
		return masking.Reject(ReasonDICOMDIR) // a media index: nothing to store (issue 19 item 3)
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
	if find(body, tagSpectroscopyData) != nil || d.sopClass == sopSpectroscopy {
		return true // MR spectroscopy declares rows and columns of voxels
	}
	for _, t := range []tag.Tag{tag.Rows, tag.Columns, tag.FloatPixelData, tag.DoubleFloatPixelData} {
		if find(body, t) != nil {
			return false
		}
	}
	return true
}

// oneBit checks 1-bit native pixel data (segmentations, bitonal scans):
// it is copied unchanged when complete and when nothing requires its
// pixels to be examined; else the file is quarantined.
func (d *deid) oneBit(body []*dicom.Element) error {
	pe := find(body, tag.PixelData)
	if pe == nil || pe.Value == nil || pe.Value.ValueType() != dicom.PixelData {
		return masking.Quarantine("dicom without pixel data (corrupt or not an image)")
	}
	info, _ := pixelInfoOf(pe.Value)
	rows, _ := firstInt(find(body, tag.Rows))
	cols, _ := firstInt(find(body, tag.Columns))
	frames := 1
	if e := find(body, tag.NumberOfFrames); e != nil && firstString(e) != "" {
		n, ok := firstInt(e)
		if !ok || n <= 0 {
			return masking.Quarantine("number of frames unreadable")
		}
		frames = n
	}
	samples := 1
	if n, ok := firstInt(find(body, tag.SamplesPerPixel)); ok && n > 0 {
		samples = n
	}
	if rows <= 0 || cols <= 0 {
		return masking.Quarantine("dicom image without dimensions")
	}
	maxPixels := d.o.MaxPixels
	if maxPixels <= 0 {
		maxPixels = 100_000_000
	}
	if int64(rows)*int64(cols)*int64(frames) > maxPixels {
		return masking.Quarantine("image dimensions exceed limit")
	}
	need := (int64(rows)*int64(cols)*int64(frames)*int64(samples) + 7) / 8
	have := int64(len(info.UnprocessedValueData))
	if d.streamLen > 0 {
		have = d.streamLen
	}
	if have < need {
		return masking.Quarantine("native pixel data truncated")
	}
	px := &pixels{burnedIn: strings.ToUpper(firstString(find(body, tag.BurnedInAnnotation)))}
	if d.needsExam(px) || len(d.o.Boxes) > 0 {
		return masking.Quarantine("1-bit pixel data not supported")
	}
	d.actions = append(d.actions, "object:1-bit-copied")
	return nil
}
