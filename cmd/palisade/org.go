package main

import (
	"fmt"
	"net/url"

	"github.com/palisade-psn/palisade/pkg/agent"
	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/spf13/cobra"
)

func orgCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "org", Short: "Suspend or restore an organisation"}
	var reason string
	suspend := &cobra.Command{
		Use:   "suspend ORG --reason TEXT",
		Short: "Narrow ORG to the remediation services now; it stays so across restarts and applies",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return orgChange(g, args[0], "suspend", map[string]string{"reason": reason})
		},
	}
	suspend.Flags().StringVar(&reason, "reason", "", "why (recorded in the audit log)")
	suspend.MarkFlagRequired("reason")
	restore := &cobra.Command{
		Use:   "restore ORG",
		Short: "Lift a suspension made with `org suspend`",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return orgChange(g, args[0], "restore", map[string]string{})
		},
	}
	cmd.AddCommand(suspend, restore)
	return cmd
}

func orgChange(g *globals, org, action string, body any) error {
	var ch agent.OrgChange
	if err := control.NewClient(g.socket).Post("/v1/orgs/"+url.PathEscape(org)+"/"+action, body, &ch); err != nil {
		return err
	}
	if g.output == "json" {
		return writeJSON(g, ch)
	}
	fmt.Fprintf(g.out, "%s is %s; flows cut %d; state digest %s (the policy digest stays %s)\n",
		ch.Org, ch.State, ch.FlowsCut, ch.StateDigest, ch.PolicyDigest)
	return nil
}
