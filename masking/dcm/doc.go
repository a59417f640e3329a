// Package dcm de-identifies DICOM Part 10 files (SEC-PSE-4) with the
// PS3.15 Annex E Basic Application Level Confidentiality Profile and its
// options, or quarantines them with a reason. [Handler] implements
// masking.Handler; files are parsed with github.com/suyashkumar/dicom
// v1.1.0's data model. The common files (explicit and implicit VR, ASCII
// text or no declared character set, well-formed lengths) are decoded and
// encoded by this package's own codec (decode.go, encode.go), which gives
// the library's datasets and bytes at a fraction of its cost; the library
// parses and writes everything else and is the codec's oracle in tests.
//
// # Attributes
//
//   - Every attribute of Table E.1-1 (generated in internal/annexe, edition
//     2024b) gets its action at any sequence depth: D (dummy), Z (empty),
//     X (removed), K (kept), C (dates shifted by the person's keyed shift,
//     descriptors cleaned when [Config].Clean is set, else the basic action),
//     U (UIDs remapped by the caller's keyed mapper). Combined codes (X/Z,
//     X/D, X/Z/D, Z/D, X/Z/U*) are resolved by the attribute's type in the
//     common image IODs where known (Type 1: D or U, Type 2: Z, Type 3: X),
//     else by the safer action (X before Z before D).
//   - Options: Retain Longitudinal Temporal Information with Modified Dates
//     (the default, see [DefaultOptions]) or Full Dates, Clean Descriptors,
//     Retain Patient Characteristics, Retain Device Identity, Retain Safe
//     Private with a "CREATOR|gggg,xxee" safelist.
//   - The file meta group is rebuilt: only the version, SOP class, the
//     remapped MediaStorageSOPInstanceUID, the transfer syntax and hdw's
//     implementation identity remain (source, sending and receiving AE
//     titles and private meta information are dropped).
//   - Private attributes are removed unless safelisted; curves (50xx) and
//     overlays (60xx) are removed whole, and overlays embedded in the high
//     bits of pixels are cleared; group lengths, digital signatures and
//     trailing padding are dropped; public attributes the parser cannot
//     decode (VR UN) are removed.
//   - PatientName and PatientID carry the pseudonym; PatientIdentityRemoved,
//     DeidentificationMethod, DeidentificationMethodCodeSequence (CID 7050)
//     and LongitudinalTemporalInformationModified are set; text is written
//     as UTF-8 with SpecificCharacterSet ISO_IR 192.
//
// # Pixels
//
// Files with BurnedInAnnotation YES, modalities US, SC, OT, XC, ES, GM, DOC
// and secondary capture, ultrasound, document and visible light SOP classes
// are examined: pixels are blanked in configured device masks and operator
// boxes, else in the padded word boxes an OCR [masking.TextFinder] locates
// (package ocr, behind the "ocr" build tag) on the first, middle and last
// frames and on every frame with sharp-edged content where no frame was
// read; the union is blanked on every frame and nothing else changes. RLE
// Lossless and JPEG Baseline frames are decoded for this and written native
// (Explicit VR Little Endian); other encapsulated syntaxes that need
// masking are quarantined, as are files whose text cannot be located.
// Secondary capture and "other" images and photographs in which OCR finds
// no text are stored with the action [ActionOCRNoText] unless
// [Config].StrictNoText is set.
//
// External-camera photographs (modality XC, VL Photographic Image) and
// images declaring Recognizable Visual Features YES are searched for faces
// first by [Config].Faces (masking/photo's detector), on the first, middle
// and last frames and every frame whose content changed: the
// faces found are filled on every frame, counted in the record
// ("masked-faces:N") and Recognizable Visual Features becomes NO; the
// barcodes and QR codes found in any frame by the same detector's
// FindCodes are filled on every frame too ("masked-codes:N"); a
// photograph without a face is recorded as [ActionFacesNone], a file
// declaring recognizable features where no face is found is quarantined.
// Without a detector, and with [Config].StrictNoText for photographs, such
// files are quarantined unless operator boxes are given.
// [Config].ExamineAll extends OCR to every native image.
// Pixel data that needs no edit is written byte-identical.
//
// # Fail closed
//
// Before parsing, a pre-scan checks every declared value length against
// the bytes that remain (the parser allocates lengths before reading).
// Files that do not parse, lack pixel data, use the deflated syntax, 1-bit
// pixels or unknown transfer syntaxes, exceed the size or pixel limits, or
// cannot be written are quarantined ([masking.QuarantineError]); reasons
// never hold a value of the file, and the input bytes are never copied to
// the output.
package dcm
