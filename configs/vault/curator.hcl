# hdw profile: curator (feeds workspaces, runs exports). ARCHITECTURE §1.
# Decrypt health and genetic (SEC-LOG-6); never the identity store (SEC-LOG-5).
path "transit/encrypt/hdw-{{warehouse}}-health"  { capabilities = ["update"] }
path "transit/decrypt/hdw-{{warehouse}}-health"  { capabilities = ["update"] }
path "transit/encrypt/hdw-{{warehouse}}-genetic" { capabilities = ["update"] }
path "transit/decrypt/hdw-{{warehouse}}-genetic" { capabilities = ["update"] }
# Workspace store keys: create, use, rotate, destroy (revocation, SEC-HAB-6). The
# glob also covers each key's rotate and config paths (a "*" before "/" would be literal).
path "transit/keys/hdw-{{warehouse}}-ws-*"       { capabilities = ["create", "read", "update", "delete"] }
path "transit/encrypt/hdw-{{warehouse}}-ws-*"    { capabilities = ["update"] }
path "transit/decrypt/hdw-{{warehouse}}-ws-*"    { capabilities = ["update"] }
# Workspace and cohort pseudonym keys.
path "hdw/data/{{warehouse}}/pseudo/ws-*"        { capabilities = ["create", "read", "update"] }
path "hdw/metadata/{{warehouse}}/pseudo/ws-*"    { capabilities = ["delete"] }
path "hdw/data/{{warehouse}}/pseudo/cohort-*"    { capabilities = ["create", "read", "update"] }
path "hdw/data/{{warehouse}}/pseudo/audit"       { capabilities = ["read"] }
path "auth/token/lookup-self" { capabilities = ["read"] }
# Rewrap (after a rotation) on the stores the curator may already decrypt:
# server-side, no new right to plaintext.
path "transit/rewrap/hdw-{{warehouse}}-health"  { capabilities = ["update"] }
path "transit/rewrap/hdw-{{warehouse}}-genetic" { capabilities = ["update"] }
path "transit/rewrap/hdw-{{warehouse}}-ws-*"    { capabilities = ["update"] }
# Audit trail payloads (SRS-091): every profile appends (encrypt); only admin
# and dpo decrypt (audit review). keys.AuditStore.
path "transit/encrypt/hdw-{{warehouse}}-audit" { capabilities = ["update"] }
# The operator directory (issue 22 item 5: operators are people): every profile
# reads it to check signatures; no profile writes it (the Vault administrator's
# token of hdw vault setup / hdw operator add does, with the policies it grants).
path "hdw/data/{{warehouse}}/operators/*"   { capabilities = ["read"] }
path "hdw/metadata/{{warehouse}}/operators" { capabilities = ["list"] }
path "hdw/metadata/{{warehouse}}/operators/" { capabilities = ["list"] }
