# hdw profile: admin (key custodian). Creates and rotates keys, rewraps; decrypts
# nothing and destroys nothing: only workspace revocation destroys keys, and the
# curator runs it (curator.hcl; SEC-LOG-5, SEC-HAB-6).
# A Vault glob "*" only works at the end of a path ("a-*/rotate" is literal), so
# each warehouse store key is named: create, read (latest version), rotate, and
# config for min_decryption_version only (no deletion_allowed, exportable, trim).
path "transit/keys/hdw-{{warehouse}}-health"          { capabilities = ["create", "read", "update"] }
path "transit/keys/hdw-{{warehouse}}-health/rotate"   { capabilities = ["update"] }
path "transit/keys/hdw-{{warehouse}}-health/config" {
  capabilities       = ["update"]
  allowed_parameters = { "min_decryption_version" = [] }
}
path "transit/keys/hdw-{{warehouse}}-identity"        { capabilities = ["create", "read", "update"] }
path "transit/keys/hdw-{{warehouse}}-identity/rotate" { capabilities = ["update"] }
path "transit/keys/hdw-{{warehouse}}-identity/config" {
  capabilities       = ["update"]
  allowed_parameters = { "min_decryption_version" = [] }
}
path "transit/keys/hdw-{{warehouse}}-genetic"         { capabilities = ["create", "read", "update"] }
path "transit/keys/hdw-{{warehouse}}-genetic/rotate"  { capabilities = ["update"] }
path "transit/keys/hdw-{{warehouse}}-genetic/config" {
  capabilities       = ["update"]
  allowed_parameters = { "min_decryption_version" = [] }
}
# Workspace store keys: the glob covers the key and its rotate and config paths; no delete.
path "transit/keys/hdw-{{warehouse}}-ws-*"            { capabilities = ["create", "read", "update"] }
path "transit/rewrap/hdw-{{warehouse}}-*"             { capabilities = ["update"] }
# Pseudonym keys are created, never read back nor overwritten ("create" only),
# never deleted (no hdw/metadata path).
path "hdw/data/{{warehouse}}/pseudo/*"                { capabilities = ["create"] }
path "hdw/data/{{warehouse}}/pseudo/audit"            { capabilities = ["create", "read"] }
# Pseudonym-key rotation (issue 22, hdw keys rotate pseudo): "update" writes a new
# KV version of a chained key (never reads one); retiring records min_version in
# its custom metadata, nothing else (no max_versions, no delete: the chain of
# versions stays whole, see keys.Chain).
path "hdw/data/{{warehouse}}/pseudo/warehouse"        { capabilities = ["create", "update"] }
path "hdw/data/{{warehouse}}/pseudo/professional"     { capabilities = ["create", "update"] }
path "hdw/data/{{warehouse}}/pseudo/opposition"       { capabilities = ["create", "update"] }
path "hdw/metadata/{{warehouse}}/pseudo/warehouse" {
  capabilities       = ["read", "update"]
  allowed_parameters = { "custom_metadata" = [] }
}
path "hdw/metadata/{{warehouse}}/pseudo/professional" {
  capabilities       = ["read", "update"]
  allowed_parameters = { "custom_metadata" = [] }
}
path "hdw/metadata/{{warehouse}}/pseudo/opposition" {
  capabilities       = ["read", "update"]
  allowed_parameters = { "custom_metadata" = [] }
}
# The policy seal key (hdw policy set): admin only, read back to sign.
path "hdw/data/{{warehouse}}/pseudo/policy"           { capabilities = ["create", "read"] }
# The audit checkpoint key: the admin alone creates and reads it (issue 22).
path "hdw/data/{{warehouse}}/pseudo/checkpoint"       { capabilities = ["create", "read"] }
path "auth/token/lookup-self" { capabilities = ["read"] }
# CreateKey on an existing pseudonym key: Vault answers 403 (a write to an
# existing path needs "update"); the provider asks its own capabilities on the
# path to tell "exists" from "forbidden". Also in Vault's default policy.
path "sys/capabilities-self" { capabilities = ["update"] }
# Audit trail payloads (SRS-091): every profile appends (encrypt); only admin
# and dpo decrypt (audit review). keys.AuditStore.
path "transit/encrypt/hdw-{{warehouse}}-audit" { capabilities = ["update"] }
path "transit/decrypt/hdw-{{warehouse}}-audit" { capabilities = ["update"] }
path "transit/keys/hdw-{{warehouse}}-audit"        { capabilities = ["create", "read", "update"] }
path "transit/keys/hdw-{{warehouse}}-audit/rotate" { capabilities = ["update"] }
# The operator directory (issue 22 item 5: operators are people): every profile
# reads it to check signatures; no profile writes it (the Vault administrator's
# token of hdw vault setup / hdw operator add does, with the policies it grants).
path "hdw/data/{{warehouse}}/operators/*"   { capabilities = ["read"] }
path "hdw/metadata/{{warehouse}}/operators" { capabilities = ["list"] }
path "hdw/metadata/{{warehouse}}/operators/" { capabilities = ["list"] }
