package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
	"github.com/spf13/cobra"
)

func planCmd(g *globals) *cobra.Command {
	var off bool
	var against string
	cmd := &cobra.Command{
		Use:   "plan DIR [--offline [--against BASE]]",
		Short: "Show what applying DIR would change against the running boundary",
		Long: `Show what applying DIR would change against the running boundary: the
policy in force with the suspensions and lapsed certificates the datapath
holds (an apply keeps them). The first line says which state it planned
against. With --offline, DIR is planned against the rules in BASE (or
against nothing), both as a gateway with no suspensions of its own would
enforce them now.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if against != "" {
				off = true
			}
			var ans control.PlanAnswer
			var err error
			if off {
				ans, err = planOffline(args[0], against)
			} else {
				err = postDir(g, "/v1/plan", args[0], &ans)
				if errors.Is(err, control.ErrNoAgent) {
					err = fmt.Errorf("%w: --offline --against BASE plans DIR against another rules directory", err)
				}
			}
			if err != nil {
				return err
			}
			if g.output == "json" {
				return writeJSON(g, ans)
			}
			printBoundary(g.out, ans.Boundary)
			printPlan(g.out, ans.Plan)
			return nil
		},
	}
	cmd.Flags().BoolVar(&off, "offline", false, "plan without the running agent: against BASE (--against) or against nothing")
	cmd.Flags().StringVar(&against, "against", "", "with --offline: the rules directory DIR would replace")
	return cmd
}

// planOffline compares two rules directories (base "" for none), each
// narrowed as a gateway with no suspensions of its own would narrow it now.
func planOffline(dir, base string) (control.PlanAnswer, error) {
	now := time.Now()
	newP, err := rules.Load(dir)
	if err != nil {
		return control.PlanAnswer{}, fmt.Errorf("rules refused:\n%w", err)
	}
	newNs := policy.Narrowings(newP, nil, now)
	var oldP *rules.Policy
	var oldC *policy.Compiled
	b := control.Boundary{Source: control.BoundaryOffline, Rules: "(none)", Narrowed: []policy.Narrowing{}, Note: "asked with --offline"}
	if base != "" {
		raw, err := rules.Load(base)
		if err != nil {
			return control.PlanAnswer{}, fmt.Errorf("rules refused:\n%w", err)
		}
		ns := policy.Narrowings(raw, nil, now)
		oldP, oldC = policy.Fold(raw, ns), policy.Compile(raw).Narrow(ns)
		b.Rules, b.PolicyDigest, b.StateDigest, b.Narrowed = base, oldC.PolicyDigest, oldC.Digest, oldC.Narrowed
	}
	plan := policy.MakePlan(oldP, oldC, policy.Fold(newP, newNs), policy.Compile(newP).Narrow(newNs))
	return control.PlanAnswer{Boundary: b, Plan: plan}, nil
}

func printPlan(w io.Writer, p *policy.Plan) {
	if p.Empty() {
		fmt.Fprintf(w, "no changes: policy digest %s, state digest %s\n", p.To, p.ToState)
		return
	}
	fmt.Fprintf(w, "policy %s -> %s\n", short(p.From), short(p.To))
	if p.FromState != p.From || p.ToState != p.To {
		fmt.Fprintf(w, "state  %s -> %s\n", short(p.FromState), short(p.ToState))
	}
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
	for _, n := range p.Narrowed {
		fmt.Fprintf(w, "  ! %s stays narrowed to remediation (%s): changes to its own rules take effect when that ends\n", n.Org, n)
	}
	fmt.Fprintln(w, p.Summary())
}

func short(d string) string {
	if d == "" {
		return "(none)"
	}
	return d[:min(len(d), 16)]
}
