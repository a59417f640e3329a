# hdw profile: dpo (re-identification team, SEC-REI-4).
path "transit/encrypt/hdw-{{warehouse}}-identity" { capabilities = ["update"] }
path "transit/decrypt/hdw-{{warehouse}}-identity" { capabilities = ["update"] }
path "transit/encrypt/hdw-{{warehouse}}-health"   { capabilities = ["update"] }
path "transit/decrypt/hdw-{{warehouse}}-health"   { capabilities = ["update"] }
# No genetic path: SEC-LOG-6 reserves the genetic key to ingest (encrypt) and
# curator (workspace export); Vault answers 403 to the dpo (TestSEC_LOG_6_*).
# Erasure in workspaces.
path "transit/encrypt/hdw-{{warehouse}}-ws-*"     { capabilities = ["update"] }
path "transit/decrypt/hdw-{{warehouse}}-ws-*"     { capabilities = ["update"] }
path "hdw/data/{{warehouse}}/pseudo/warehouse"    { capabilities = ["read"] }
path "hdw/data/{{warehouse}}/pseudo/opposition"   { capabilities = ["read"] }
path "hdw/data/{{warehouse}}/pseudo/ws-*"         { capabilities = ["read"] }
path "hdw/data/{{warehouse}}/pseudo/cohort-*"     { capabilities = ["read"] }
path "hdw/data/{{warehouse}}/pseudo/audit"        { capabilities = ["read"] }
path "auth/token/lookup-self" { capabilities = ["read"] }
# Audit trail payloads (SRS-091): every profile appends (encrypt); only admin
# and dpo decrypt (audit review). keys.AuditStore.
path "transit/encrypt/hdw-{{warehouse}}-audit" { capabilities = ["update"] }
path "transit/decrypt/hdw-{{warehouse}}-audit" { capabilities = ["update"] }
# The operator directory (issue 22 item 5: operators are people): every profile
# reads it to check signatures; no profile writes it (the Vault administrator's
# token of hdw vault setup / hdw operator add does, with the policies it grants).
path "hdw/data/{{warehouse}}/operators/*"   { capabilities = ["read"] }
path "hdw/metadata/{{warehouse}}/operators" { capabilities = ["list"] }
path "hdw/metadata/{{warehouse}}/operators/" { capabilities = ["list"] }
