# hdw profile: approver (manager who endorses exports, SEC-EXP-2). No data key.
path "hdw/data/{{warehouse}}/pseudo/audit" { capabilities = ["read"] }
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
