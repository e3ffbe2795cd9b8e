package main

import (
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/palisade-psn/palisade/pkg/agent"
	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/spf13/cobra"
)

func reportCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "report", Short: "Reports on the running policy"}
	var since string
	unused := &cobra.Command{
		Use:   "unused --since 90d",
		Short: "List rules of the running policy with no hit in the period (candidates for removal)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := parseSince(since)
			if err != nil {
				return err
			}
			var hits []agent.RuleHit
			if err := control.NewClient(g.socket).Get("/v1/rules/hits", &hits); err != nil {
				return err
			}
			out := unusedSince(hits, time.Now().Add(-d))
			if g.output == "json" {
				return writeJSON(g, out)
			}
			printUnused(g, out, since)
			return nil
		},
	}
	unused.Flags().StringVar(&since, "since", "90d", "period: a number of days (90d) or a Go duration (36h)")
	cmd.AddCommand(unused)
	return cmd
}

// parseSince reads "90d" as 90 days; anything else as a Go duration.
func parseSince(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.Atoi(n)
		if err != nil || days < 0 {
			return 0, fmt.Errorf("--since %q: want days like 90d, or a duration like 36h", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("--since %q: want days like 90d, or a duration like 36h", s)
	}
	return d, nil
}

func unusedSince(hits []agent.RuleHit, cutoff time.Time) []agent.RuleHit {
	out := []agent.RuleHit{}
	for _, h := range hits {
		if h.LastHit == nil || h.LastHit.Before(cutoff) {
			out = append(out, h)
		}
	}
	return out
}

func printUnused(g *globals, hits []agent.RuleHit, since string) {
	w := tabwriter.NewWriter(g.out, 2, 4, 2, ' ', 0)
	defer w.Flush()
	fmt.Fprintln(w, "RULE\tLAST HIT\tDEFINED AT")
	for _, h := range hits {
		last := "never"
		if h.LastHit != nil {
			last = h.LastHit.Format(time.RFC3339)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", h.Rule, last, h.At)
	}
	fmt.Fprintf(w, "%d rule(s) without a hit in %s\n", len(hits), since)
}
