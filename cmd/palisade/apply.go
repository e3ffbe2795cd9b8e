package main

import (
	"fmt"
	"path/filepath"

	"github.com/palisade-psn/palisade/pkg/agent"
	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/spf13/cobra"
)

func applyCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "apply DIR",
		Short: "Have the agent load DIR and publish it atomically; an invalid DIR is refused whole",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var res agent.ApplyResult
			if err := postDir(g, "/v1/apply", args[0], &res); err != nil {
				return err
			}
			if g.output == "json" {
				return writeJSON(g, res)
			}
			printPlan(g.out, res.Plan)
			fmt.Fprintf(g.out, "applied: policy digest %s, state digest %s, generation %d; flows cut %d, kept %d\n",
				res.PolicyDigest, res.StateDigest, res.Generation, res.FlowsCut, res.FlowsKept)
			for org, why := range res.Narrowed {
				fmt.Fprintf(g.out, "narrowed to remediation: %s (%s)\n", org, why)
			}
			return nil
		},
	}
}

// postDir sends DIR, made absolute, to the agent: it reads the files
// itself, so what is applied is what it validated.
func postDir(g *globals, path, dir string, out any) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	return control.NewClient(g.socket).Post(path, agent.DirRequest{Dir: abs}, out)
}
