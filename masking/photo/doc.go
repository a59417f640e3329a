// Package photo de-identifies photographs (SEC-PSE-4): JPEG, PNG, TIFF,
// WebP, BMP, GIF, and HEIC/HEIF/AVIF with the "heif" build tag (libheif).
// and JPEG XL with the "jxl" build tag (libjxl); without a tag those
// formats are quarantined naming them. It implements masking.Handler.
//
// # Metadata
//
// JPEG files are rewritten segment by segment: APP1 (EXIF with GPS, maker
// notes, serial numbers and the IFD1 thumbnail; XMP standard and
// extended), APP13 (IPTC/Photoshop), COM, APP2 other than ICC (MPF and its
// secondary images), every other APPn but JFIF and Adobe, and any bytes
// after EOI are dropped; the ICC profile is kept. When no pixel changes
// the entropy-coded data is copied as is (lossless). PNG files are
// rewritten chunk by chunk: tEXt, zTXt, iTXt, eXIf, tIME and unknown
// ancillary chunks are dropped; iCCP is kept. TIFF files are decoded and
// re-encoded (no metadata survives). WebP files are decoded and written as
// PNG (there is no pure-Go WebP encoder). BMP and single-frame GIF files
// are written as PNG, animated GIFs as GIF (Go's encoder writes no comment
// or application extension). HEIC/HEIF/AVIF files are decoded by libheif
// (primary image only, rotation baked in) and written as JPEG; without the
// "heif" tag they are quarantined.
//
// # Visible content
//
// An EXIF orientation other than 1 is baked into the pixels. Faces found
// by the pigo cascade (github.com/esimov/pigo, MIT, cascade/facefinder;
// run by cascade.go, pigo's detections bit for bit at half the CPU, from
// Config.FaceMinSize up) are filled opaque with a margin that covers the eyes; the eyes located in
// each face by pigo's puploc cascade (cascade/puploc) are filled too and
// counted in Result.Actions (masked-eyes:N); detections of low score are
// masked too. Faces in profile, turned either way, are found on the same
// reduced grey by OpenCV's LBP profile cascade (opencv-data, BSD-3-Clause,
// cascade/lbpcascade_profileface.xml; run by lbp.go and profile.go, the
// cascade mirrored for the other way) and filled with a quarter of
// their width around them; a profile seen by two overlapping windows is
// masked (fail closed: OpenCV's usual three is not required).
// Result.Actions counts the faces masked (masked-faces:N). With the faces, QR, Data Matrix and 1D barcodes that gozxing
// decodes are filled with their quiet zone, and, when Options.OCR is set
// (the ocr build), every word Tesseract reads in the photo (reduced to
// 2048 px) is filled. The operator's boxes (manifest mask_boxes) are
// always filled. Masking re-encodes the image
// (JPEG quality 95, ICC kept).
//
// # Streaming
//
// The JPEG and PNG rewriters stream: header segments and chunks are
// inspected in place in a pooled 256 KiB read buffer (one whole segment
// always fits), and the entropy-coded data, or a large IDAT chunk, is
// written in buffer-sized pieces straight from that buffer, so that a
// lossless rewrite costs a scan for 0xFF bytes and a copy, whatever the
// file size, and allocates no per-file buffer. Every check (segment
// choice, dimensions, PNG CRCs) runs as before; the differential tests
// (stream_internal_test.go) hold the output and errors to those of the
// former buffered rewriters.
//
// # Limits
//
// Dimensions are read from the headers before any decoding; an image above
// Options.MaxPixels is quarantined (decompression bombs).
package photo
