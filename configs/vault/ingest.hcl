# hdw profile: ingest (data engineer's batch job). ARCHITECTURE §1.
# Encrypt (wrap data keys) to the health, identity and genetic stores; never decrypt.
path "transit/encrypt/hdw-{{warehouse}}-health"   { capabilities = ["update"] }
path "transit/encrypt/hdw-{{warehouse}}-identity" { capabilities = ["update"] }
path "transit/encrypt/hdw-{{warehouse}}-genetic"  { capabilities = ["update"] }
# Pseudonym keys: warehouse, professional, opposition (to skip opposed persons); the audit key.
path "hdw/data/{{warehouse}}/pseudo/warehouse"    { capabilities = ["read"] }
path "hdw/data/{{warehouse}}/pseudo/professional" { capabilities = ["read"] }
path "hdw/data/{{warehouse}}/pseudo/opposition"   { capabilities = ["read"] }
path "hdw/data/{{warehouse}}/pseudo/audit"        { capabilities = ["read"] }
path "auth/token/lookup-self" { capabilities = ["read"] }
# Audit trail payloads (SRS-091): every profile appends (encrypt); only admin
# and dpo decrypt (audit review). keys.AuditStore.
path "transit/encrypt/hdw-{{warehouse}}-audit" { capabilities = ["update"] }
# The operator directory (issue 22 item 5: operators are people): every profile
# reads it to check signatures; no profile writes it (the Vault administrator's
# token of hdw vault setup / hdw operator add does, with the policies it grants).
path "hdw/data/{{warehouse}}/operators/*"   { capabilities = ["read"] }
path "hdw/metadata/{{warehouse}}/operators" { capabilities = ["list"] }
path "hdw/metadata/{{warehouse}}/operators/" { capabilities = ["list"] }
