# hdw profile: researcher:{{project}} (one project's team). Its own workspace only (SEC-ESP-1).
path "transit/decrypt/hdw-{{warehouse}}-ws-{{project}}" { capabilities = ["update"] }
path "hdw/data/{{warehouse}}/pseudo/audit"              { capabilities = ["read"] }
path "auth/token/lookup-self" { capabilities = ["read"] }
# Audit trail payloads (SRS-091): every profile appends (encrypt); only admin
# and dpo decrypt (audit review). keys.AuditStore.
path "transit/encrypt/hdw-{{warehouse}}-audit" { capabilities = ["update"] }
# A researcher enrolled as an operator reads their own directory entry (by id:
# no list) to sign as themselves (issue 22 item 5).
path "hdw/data/{{warehouse}}/operators/*" { capabilities = ["read"] }
