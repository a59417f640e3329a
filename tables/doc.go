// Package tables owns hdw's typed tables (ARCHITECTURE §1, §9; issue 17):
// Parquet files whose columns carry the data dictionary's types, written
// and read through Apache Arrow (github.com/apache/arrow/go/v17, pqarrow),
// and the one place where an encrypted table is written or scanned.
//
// # Schema
//
// [FromDictionary] maps the dictionary's types to Arrow/Parquet types:
// int -> INT64, float -> DOUBLE, date -> DATE32 (days since 1970-01-01,
// negative before: dates before 1900 are ordinary values), sex and enum ->
// dictionary-encoded strings, everything else -> UTF-8 strings. Columns
// keep the order they are given in (callers pass dictionary order); hdw's
// own columns (record_id, pseudonym, ...) come first with their own types
// ([Fixed]). A derived column has its own name and type (an age band is
// age_band_10y, a string, never birth_year).
//
// # Verbs
//
//   - [NewWriter] / [Create]: append rows (strings, parsed to the column's
//     type; a value that fails is a [ValueError] naming row and column,
//     never the value), streamed in row groups of bounded size.
//   - [Scan] / [ScanObject]: stream rows with a column projection and a
//     predicate ([Row] gives typed and string access); [Records] streams
//     Arrow record batches for columnar work (the export gate's counter,
//     [Counter]).
//   - [Rewrite]: rewrite a stored table (erasure, rectification, key
//     rotation) crash-safely: the new table is written in full and published
//     atomically in place of the old one by the object store (a local
//     folder renames a complete temporary file; S3 replaces on a completed
//     PUT), so a crash leaves the old table or the new one, never a mix.
//
// # The export gate's counts
//
// The gate reads its source table with [RecordsObject] (or [Records] on a
// file) projected on the person column, the quasi-identifiers and the
// sensitive columns, feeds every batch to a [Counter] whose [KeySpec]s
// carry the generalizations (an age band: Int: func(y int64) int64 {
// return (year - y) / 20 }; a region: Prefix: 1), then calls
// [Counter.Result] with k: classes below k (in distinct persons) and the
// distinct sensitive values per class (l) come out class by class, in
// bounded memory (sorted runs spill past the budget). Suppression is a
// second pass: [Counter.ClassOf] on each batch gives every row's class id,
// to drop the rows of the classes the first pass found too small.
// bench/cmd/kanon -count is the reference use (make bench-export). With
// [CounterOptions.Detail] it also gives each class's rows and its
// sensitive values weighted by person: the export gate's suppression, l
// and t (package export).
//
// # Encryption
//
// Two modes, chosen per store ([Mode]):
//
//   - [Envelope]: the whole Parquet file inside hdw's envelope (package
//     envelope: chunked AES-256-GCM, file key derived from the batch data
//     key and bound to the object's name). Used for the warehouse stores
//     (health, identity, genetic: SEC-LOG-4..6 keep them separate files
//     under separate keys): the file name and size of columns stay hidden,
//     a file moved to another name does not decrypt, and nothing outside
//     hdw needs to read them.
//   - [Modular]: Parquet modular encryption (AES-GCM, encrypted footer,
//     every column under the footer key = the workspace data key). Used
//     for workspace tables, so that DuckDB and pyarrow read them with the
//     workspace key and no hdw in between (README, researcher section).
//
// [ScanObject] and [RecordsObject] never read a stored table whole: an
// envelope is decrypted chunk by chunk where the Parquet reader seeks
// (envelope.ReaderAt), over the store's file itself or the stored bytes
// spooled, still encrypted, to an unlinked temporary file. [ScanObject]
// recognizes either mode, and plain Parquet, by the file's magic bytes; tables written before issue 17 (all-string columns in the
// envelope) are read as they are, their values given back as strings.
package tables
