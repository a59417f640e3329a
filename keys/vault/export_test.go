package vault

import "github.com/hashicorp/vault/api"

// Client returns the provider's authenticated client, for tests that call
// Vault directly with the profile's token.
func Client(p *Provider) *api.Client { return p.c }
