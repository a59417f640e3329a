# hdw profile: dpo (re-identification team, SEC-REI-4).
path "transit/encrypt/hdw-{{warehouse}}-identity" { capabilities = ["update"] }
path "transit/decrypt/hdw-{{warehouse}}-identity" { capabilities = ["update"] }
path "transit/encrypt/hdw-{{warehouse}}-health"   { capabilities = ["update"] }
path "transit/decrypt/hdw-{{warehouse}}-health"   { capabilities = ["update"] }
path "transit/encrypt/hdw-{{warehouse}}-genetic"  { capabilities = ["update"] }
path "transit/decrypt/hdw-{{warehouse}}-genetic"  { capabilities = ["update"] }
# Erasure in workspaces.
path "transit/encrypt/hdw-{{warehouse}}-ws-*"     { capabilities = ["update"] }
path "transit/decrypt/hdw-{{warehouse}}-ws-*"     { capabilities = ["update"] }
path "hdw/data/{{warehouse}}/pseudo/warehouse"    { capabilities = ["read"] }
path "hdw/data/{{warehouse}}/pseudo/opposition"   { capabilities = ["read"] }
path "hdw/data/{{warehouse}}/pseudo/ws-*"         { capabilities = ["read"] }
path "hdw/data/{{warehouse}}/pseudo/cohort-*"     { capabilities = ["read"] }
path "hdw/data/{{warehouse}}/pseudo/audit"        { capabilities = ["read"] }
path "auth/token/lookup-self" { capabilities = ["read"] }
