// Package synth generates synthetic test data (DICOM files, camera-like
// photos, manifests with valid NIRs) for the demo, the tests and the
// benchmarks. Nothing it writes comes from a real person.
package synth
