// Package pipeline owns ingestion (ARCHITECTURE §2-3): it reads a client
// upload (a manifest and its images, from any objstore.Store), validates
// every row against the data dictionary, pseudonymizes (package pseudo),
// de-identifies images (package masking), writes the health, identity and
// genetic stores under their own keys (package warehouse), and commits the
// batch last so that a crash leaves no half batch.
//
// # Accounting
//
// Every input item (a manifest row, or an image without a row) ends in
// exactly one of three outcomes, so seen = ingested + quarantined +
// rejected. Items already committed by an earlier run are reported apart
// as skipped and are not part of seen.
package pipeline
