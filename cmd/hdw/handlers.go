package main

import (
	"hdw/masking"
	"hdw/masking/dcm"
)

func handlers() []masking.Handler {
	return []masking.Handler{dcm.New(dcm.Config{})}
}

func ocrFinder() masking.TextFinder { return nil }

var scrubText = masking.ScrubText
