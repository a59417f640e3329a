package main

import (
	"github.com/spf13/cobra"
)

// commands lists the subcommands; only commands that work are listed.
func commands(g *globals) []*cobra.Command {
	return []*cobra.Command{
		newInitCmd(g),
		newIngestCmd(g),
		newDemoCmd(g),
		newClientCmd(g),
		newRightsCmd(g),
		newReidentifyCmd(g),
		newRetentionCmd(g),
		newAuditCmd(g),
		newOperatorCmd(g),
		newVaultCmd(g),
		newKeysCmd(g),
		newExportCmd(g),
		newPolicyCmd(g),
		newWorkspaceCmd(g),
		newIndicatorsCmd(g),
		newMigrateCmd(g),
	}
}
