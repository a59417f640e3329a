// Package warehouse owns the store layout of ARCHITECTURE §3: the
// warehouse descriptor, encrypted objects (envelope + per-batch data keys
// wrapped by the store keys), the table paths (the tables themselves are
// written and read by package tables: typed, one encrypted write and scan),
// batch key records and commit records. Readers see a batch only once its
// commit record exists.
//
// Layout under the warehouse root:
//
//	warehouse.json                        descriptor (no key bytes)
//	keyring/...                           sealed local keyring (embedded provider)
//	dek/<batch>.json                      wrapped data keys of a batch, one per store
//	health/records/batch=<id>/<n>.parquet health records          (health key)
//	health/images/<pseudonym>/<token>     de-identified images    (health key)
//	identity/persons/batch=<id>.parquet   identity + correspondence (identity key)
//	identity/professionals/batch=<id>.parquet professionals        (identity key)
//	genetic/batch=<id>.parquet            genetic data            (genetic key)
//	identity/rotation/v<N>/batch=<id>.parquet old-to-new pseudonyms of a key rotation (identity key)
//	batches/<id>.json                     commit record, written last
//	audit/                                audit trail (package audit)
//	pending/<id>.json                     lease of a running batch
//
// # Durability and crashes
//
// Durability is per batch, not per object. [Warehouse.NewBatchKeys] opens a
// batch: on a store that can defer flushes ([objstore.Deferrer], the local
// folder), the batch's data objects, its tables and its images (named
// "<batch>-<token>", see [IsBatchObject]), are then written without an
// fsync each. [Warehouse.WriteCommit] first makes everything deferred
// durable ([objstore.Syncer]: one syncfs of the file system on Linux, else
// an fsync of each file and of each folder that got a new entry), and only
// then writes the commit record, itself durably (file and folder fsynced).
// Everything else (warehouse.json, key records, leases, commit records, the
// audit trail, keyrings, registries, and a batch's objects rewritten after
// its commit by rights requests) is durable when its write returns. On S3 a
// PUT is durable once acknowledged: nothing is deferred there.
//
// Why a crash cannot expose a torn batch:
//
//   - Ingest writes the batch's lease (pending/<id>.json) and key record
//     durably before its first deferred object, so once any object of the
//     batch may be on disk, the batch is known to the next run.
//   - Readers see only committed batches, through the objects their commit
//     records name. A commit record becomes durable only after the flush of
//     every object written before it returned nil, so a commit that survives
//     a power loss names only objects that survived it, whole. If the flush
//     fails, no record is written and the batch stays uncommitted.
//   - A crash (kill -9, power loss, kernel panic) before the commit record
//     is durable leaves an uncommitted batch: its objects may be missing,
//     empty or torn. Its lease expires, and the next ingest removes the
//     batch (tables, images with the batch id in their name, key record,
//     lease; pipeline.RemoveOrphans); its sources were never recorded as
//     committed, so that run ingests them again. The result equals a clean
//     run (TestCrashBeforeCommitRerunEqualsCleanRun).
//   - A process crash alone loses nothing the kernel accepted; the same
//     cleanup applies.
package warehouse
