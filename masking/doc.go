// Package masking owns de-identification (SEC-PSE-4): it turns an uploaded
// image into one that carries no identifying data in its metadata, its
// visible content or its file attributes, or refuses it with a
// [QuarantineError] that states a reason without any identifying value.
//
// The package is pure: it works on values and streams, never on files, the
// environment, Vault or S3. Format handlers live in subpackages (masking/dcm
// for DICOM, masking/photo for JPEG, PNG, TIFF and WebP) and are composed
// explicitly with [New]; there is no global registry.
//
// # Fail closed
//
// Every output goes through the residual scan ([Scanner]) before the caller
// may store it: a hit on any identifying string of the person, in raw or
// normalized form, turns the result into a quarantine.
package masking
