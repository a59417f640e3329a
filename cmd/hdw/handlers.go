package main

import (
	"hdw/configs"
	"hdw/masking"
	"hdw/masking/dcm"
	"hdw/masking/photo"
)

// handlers composes the format handlers of the de-identifier.
func handlers(c configs.Config) []masking.Handler {
	return []masking.Handler{dcm.New(dcm.Config{Clean: masking.ScrubText, ExamineAll: c.DICOM.ExamineAll, StrictNoText: c.DICOM.StrictNoText}), photo.New(photo.Config{})}
}

var scrubText = masking.ScrubText
