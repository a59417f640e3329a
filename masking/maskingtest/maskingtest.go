// Package maskingtest holds the fakes of masking for the tests of what
// runs around the handlers (ingest, workspaces): a de-identifier whose
// output is predictable and a text scrubber by identifier kind. It holds
// no identifying data.
package maskingtest

import (
	"context"
	"fmt"
	"io"
	"strings"

	"hdw/masking"
)

// Deidentifier is a fake [masking.Deidentifier]: a file starting with
// "IMG" is an image, written out as "CLEAN PatientID=<pseudonym> pixels"
// (the pseudonym embedded as a DICOM PatientID would be); one starting
// with "DIR" is rejected as a media index; any other is quarantined as an
// unsupported file type. The result's format is Format ("fake" when
// empty; "dicom" for the tests that name image files by format).
type Deidentifier struct{ Format string }

// Deidentify implements [masking.Deidentifier].
func (d Deidentifier) Deidentify(ctx context.Context, dst io.Writer, src io.Reader, size int64, p masking.Person, o masking.Options) (masking.Result, error) {
	head := make([]byte, 3)
	_, err := io.ReadFull(src, head)
	if err == nil && string(head) == "DIR" {
		return masking.Result{}, masking.Reject("a media index, not an instance")
	}
	if err != nil || string(head) != "IMG" {
		return masking.Result{}, masking.Quarantine("unsupported file type")
	}
	if _, err := io.Copy(io.Discard, src); err != nil {
		return masking.Result{}, err
	}
	if _, err := fmt.Fprintf(dst, "CLEAN PatientID=%s pixels", p.Pseudonym); err != nil {
		return masking.Result{}, err
	}
	format := d.Format
	if format == "" {
		format = "fake"
	}
	return masking.Result{Format: format, Modality: "OT"}, nil
}

// Scrub replaces each of the person's identifier values in s with its
// kind: a stand-in for [masking.ScrubText] whose output a test can
// predict.
func Scrub(s string, p masking.Person) string {
	for _, id := range p.Identifiers {
		s = strings.ReplaceAll(s, id.Value, id.Kind)
	}
	return s
}
