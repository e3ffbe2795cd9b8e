package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/palisade-psn/palisade/pkg/agent"
	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/palisade-psn/palisade/pkg/policy"
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
			fmt.Fprintf(g.out, "applied: digest %s, generation %d; flows cut %d, kept %d\n",
				res.Digest, res.Generation, res.FlowsCut, res.FlowsKept)
			for org, why := range res.Narrowed {
				fmt.Fprintf(g.out, "narrowed to remediation: %s (%s)\n", org, why)
			}
			return nil
		},
	}
}

func planCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "plan DIR",
		Short: "Show what applying DIR would change against the running policy",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var p policy.Plan
			if err := postDir(g, "/v1/plan", args[0], &p); err != nil {
				return err
			}
			if g.output == "json" {
				return writeJSON(g, p)
			}
			printPlan(g.out, &p)
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

func printPlan(w io.Writer, p *policy.Plan) {
	if p.Empty() {
		fmt.Fprintf(w, "no changes: the running policy is %s\n", p.To)
		return
	}
	fmt.Fprintf(w, "policy %s -> %s\n", short(p.From), short(p.To))
	for _, c := range []struct {
		what string
		ch   policy.Changes
	}{{"organisation", p.Orgs}, {"rule", p.Rules}, {"prefix", p.Prefixes}} {
		for _, n := range c.ch.Added {
			fmt.Fprintf(w, "  + %s %s\n", c.what, n)
		}
		for _, n := range c.ch.Removed {
			fmt.Fprintf(w, "  - %s %s\n", c.what, n)
		}
		for _, n := range c.ch.Changed {
			fmt.Fprintf(w, "  ~ %s %s\n", c.what, n)
		}
	}
	for _, f := range p.Flows {
		sign := "~"
		switch {
		case f.Was == "drop":
			sign = "+"
		case f.Now == "drop":
			sign = "-"
		}
		fmt.Fprintf(w, "  %s flows %s -> %s %s: %s => %s\n", sign, f.Org, f.Dest, f.Ports, f.Was, f.Now)
	}
	fmt.Fprintln(w, p.Summary())
}

func short(d string) string {
	if d == "" {
		return "(none)"
	}
	return d[:min(len(d), 16)]
}
