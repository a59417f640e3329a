package main

import (
	"hdw/configs"
	"hdw/masking"
	"hdw/masking/dcm"
	"hdw/masking/photo"
)

// handlers composes the format handlers of the de-identifier.
func handlers(c configs.Config) []masking.Handler {
	// DICOM photographs get the photo path's face detector (issue 20 item 4).
	ph := photo.New(photo.Config{})
	return []masking.Handler{dcm.New(dcm.Config{Clean: masking.ScrubText, ExamineAll: c.DICOM.ExamineAll, StrictNoText: c.DICOM.StrictNoText, Faces: ph}), ph}
}

var scrubText = masking.ScrubText
