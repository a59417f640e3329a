# hdw profile: approver (manager who endorses exports, SEC-EXP-2). No data key.
path "hdw/data/{{warehouse}}/pseudo/audit" { capabilities = ["read"] }
path "auth/token/lookup-self" { capabilities = ["read"] }
# Audit trail payloads (SRS-091): every profile appends (encrypt); only admin
# and dpo decrypt (audit review). keys.AuditStore.
path "transit/encrypt/hdw-{{warehouse}}-audit" { capabilities = ["update"] }
