// Package vault holds the Vault policies of hdw's profiles (HCL, one per
// profile of ARCHITECTURE §1), embedded so that `hdw vault setup` writes
// exactly what is reviewed here.
package vault

import "embed"

// Policies are the *.hcl files; {{warehouse}} and {{project}} are replaced by Setup.
//
//go:embed *.hcl
var Policies embed.FS
