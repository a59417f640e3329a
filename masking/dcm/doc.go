// Package dcm de-identifies DICOM Part 10 files (SEC-PSE-4) with the
// PS3.15 Annex E Basic Application Level Confidentiality Profile and its
// options, or quarantines them with a reason. [Handler] implements
// masking.Handler.
//
// # What it does
//
//   - Every attribute of Table E.1-1 (generated in internal/annexe, edition
//     2024b) gets its action at any sequence depth: D (dummy), Z (empty),
//     X (removed), K (kept), C (dates shifted by the person's keyed shift,
//     descriptors cleaned when a cleaner is configured), U (UIDs remapped by
//     the caller's keyed mapper). Combined codes (X/Z, X/D, X/Z/D, Z/D,
//     X/Z/U*) are resolved by the attribute's type in the common image IODs
//     where known, else by the safer action (X before Z before D).
//   - The file meta group is rebuilt: only the version, SOP class, the
//     remapped MediaStorageSOPInstanceUID, the transfer syntax and hdw's
//     implementation identity remain.
//   - Private attributes are removed, unless Retain Safe Private is chosen
//     and the tag is in the creator-qualified safelist. Curves (50xx) and
//     overlays (60xx) are removed whole. Group lengths are dropped.
//   - PatientName and PatientID carry the pseudonym; PatientIdentityRemoved,
//     DeidentificationMethod, DeidentificationMethodCodeSequence and
//     LongitudinalTemporalInformationModified are set; text is written as
//     UTF-8 with SpecificCharacterSet ISO_IR 192.
//   - Burned-in text: files with BurnedInAnnotation YES, modalities US, SC,
//     OT, XC, ES, GM, DOC and secondary capture SOP classes have their
//     native pixels blanked in configured device masks and operator boxes,
//     else in the boxes an OCR [masking.TextFinder] locates; a file whose
//     text cannot be located, or whose encapsulated pixels cannot be
//     rewritten, is quarantined.
//
// # Fail closed
//
// Files that do not parse, lack pixel data, use the deflated syntax, 1-bit
// pixels, unknown transfer syntaxes, exceed the size or pixel limits, or
// cannot be written are quarantined ([masking.QuarantineError]); reasons
// never hold a value of the file, and the input bytes are never copied to
// the output.
package dcm
