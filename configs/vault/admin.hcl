# hdw profile: admin (key custodian). Creates and rotates keys; decrypts nothing.
path "transit/keys/hdw-{{warehouse}}-*"         { capabilities = ["create", "read", "update"] }
path "transit/keys/hdw-{{warehouse}}-*/rotate"  { capabilities = ["update"] }
path "transit/keys/hdw-{{warehouse}}-*/config"  { capabilities = ["update"] }
path "transit/rewrap/hdw-{{warehouse}}-*"       { capabilities = ["update"] }
# Pseudonym keys are created, never read back ("create" without "read").
path "hdw/data/{{warehouse}}/pseudo/*"          { capabilities = ["create"] }
path "hdw/data/{{warehouse}}/pseudo/audit"      { capabilities = ["create", "read"] }
path "auth/token/lookup-self" { capabilities = ["read"] }
