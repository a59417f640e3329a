package main

import (
	"hdw/masking"
	"hdw/masking/dcm"
	"hdw/masking/photo"
)

// handlers composes the format handlers of the de-identifier.
func handlers() []masking.Handler {
	return []masking.Handler{dcm.New(dcm.Config{Clean: masking.ScrubText, ExamineAll: st.cfg.DICOM.ExamineAll, StrictNoText: st.cfg.DICOM.StrictNoText}), photo.New(photo.Config{})}
}

var scrubText = masking.ScrubText
