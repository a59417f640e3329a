# hdw profile: approver (manager who endorses exports, SEC-EXP-2). No data key.
path "hdw/data/{{warehouse}}/pseudo/audit" { capabilities = ["read"] }
path "auth/token/lookup-self" { capabilities = ["read"] }
