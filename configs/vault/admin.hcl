# hdw profile: admin (key custodian). Creates and rotates keys; decrypts nothing.
path "transit/keys/hdw-{{warehouse}}-*"         { capabilities = ["create", "read", "update", "delete"] }
path "transit/keys/hdw-{{warehouse}}-*/rotate"  { capabilities = ["update"] }
path "transit/keys/hdw-{{warehouse}}-*/config"  { capabilities = ["update"] }
path "transit/rewrap/hdw-{{warehouse}}-*"       { capabilities = ["update"] }
# Pseudonym keys are created, never read back ("create" without "read").
path "hdw/data/{{warehouse}}/pseudo/*"          { capabilities = ["create"] }
path "hdw/data/{{warehouse}}/pseudo/audit"      { capabilities = ["create", "read"] }
# DestroyKey (workspace revocation, SEC-HAB-6) deletes every version.
path "hdw/metadata/{{warehouse}}/pseudo/*"      { capabilities = ["delete"] }
path "auth/token/lookup-self" { capabilities = ["read"] }
