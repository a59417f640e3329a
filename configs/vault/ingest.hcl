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
