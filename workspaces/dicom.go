package workspaces

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"time"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"hdw/pseudo"
)

// ErrDICOM means a warehouse DICOM file could not be re-keyed.
var ErrDICOM = errors.New("workspace: dicom file cannot be re-keyed")

// rekeyDICOM rewrites a de-identified warehouse DICOM file for a workspace
// (SEC-ESP-1, -2): every UID is mapped again under the workspace key, and
// PatientName / PatientID carry the workspace pseudonym, so that nothing in
// the file links it to the warehouse or to another workspace.
func rekeyDICOM(dst io.Writer, data []byte, k *pseudo.Keyed, pseudonym string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = ErrDICOM
		}
	}()
	ds, err := dicom.Parse(bytes.NewReader(data), int64(len(data)), nil, dicom.SkipProcessingPixelDataValue(), dicom.AllowUnknownSpecificCharacterSet())
	if err != nil && !errors.Is(err, dicom.ErrorEndOfDICOM) {
		return ErrDICOM
	}
	shift := k.DateShift(pseudonym)
	var walk func(els []*dicom.Element) error
	walk = func(els []*dicom.Element) error {
		for _, e := range els {
			if e.Value == nil {
				continue
			}
			switch {
			case e.Tag == tag.PatientName || e.Tag == tag.PatientID:
				v, err := dicom.NewValue([]string{pseudonym})
				if err != nil {
					return err
				}
				e.Value, e.ValueLength = v, 0
			case e.RawValueRepresentation == "UI" && e.Value.ValueType() == dicom.Strings && e.Tag != tag.TransferSyntaxUID && e.Tag != tag.SOPClassUID && e.Tag != tag.MediaStorageSOPClassUID && e.Tag != tag.ImplementationClassUID:
				in, _ := e.Value.GetValue().([]string)
				out := make([]string, len(in))
				for i, u := range in {
					u = strings.TrimRight(strings.TrimSpace(u), "\x00")
					if strings.HasPrefix(u, "2.25.") { // instance UIDs keyed by the warehouse
						u = k.UID(u)
					}
					out[i] = u
				}
				v, err := dicom.NewValue(out)
				if err != nil {
					return err
				}
				e.Value, e.ValueLength = v, 0
			case (e.RawValueRepresentation == "DA" || e.RawValueRepresentation == "DT") && e.Value.ValueType() == dicom.Strings:
				// Dates are shifted again by the workspace's own keyed shift.
				in, _ := e.Value.GetValue().([]string)
				out := make([]string, len(in))
				for i, d := range in {
					out[i] = shiftDate(strings.TrimSpace(d), shift)
				}
				v, err := dicom.NewValue(out)
				if err != nil {
					return err
				}
				e.Value, e.ValueLength = v, 0
			case e.Value.ValueType() == dicom.Sequences:
				items, _ := e.Value.GetValue().([]*dicom.SequenceItemValue)
				for _, it := range items {
					sub, _ := it.GetValue().([]*dicom.Element)
					if err := walk(sub); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	if err := walk(ds.Elements); err != nil {
		return ErrDICOM
	}
	if err := dicom.Write(dst, ds, dicom.SkipVRVerification()); err != nil {
		return ErrDICOM
	}
	return nil
}

// shiftDate moves a DA (YYYYMMDD) or the date part of a DT by days; values
// that do not parse are emptied.
func shiftDate(v string, days int) string {
	if len(v) < 8 {
		return ""
	}
	t, err := time.Parse("20060102", v[:8])
	if err != nil {
		return ""
	}
	return t.AddDate(0, 0, days).Format("20060102") + v[8:]
}
