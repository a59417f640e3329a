// Package warehouse owns the store layout of ARCHITECTURE §3: the
// warehouse descriptor, encrypted objects (envelope + per-batch data keys
// wrapped by the store keys), Parquet tables, batch key records and commit
// records. Readers see a batch only once its commit record exists.
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
//	batches/<id>.json                     commit record, written last
//	audit/                                audit trail (package audit)
package warehouse
