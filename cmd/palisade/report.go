package main

import (
	"fmt"
	"strconv"
	"strings"
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
		Short: "List rules of the running policy with no hit in the period (candidates for removal), and those not counted for that long",
		Long: `List the rules of the running policy with no hit in the period: candidates
for removal. A rule is called unused for the period only if it has been counted
for all of it: from when it entered the running policy, or from when the
counters were created, if later. The counters start at zero after a reboot or
'palisade clean'; a rule quiet since, for less than the period, is listed
apart: nothing can be said of it for the whole period yet.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := parseSince(since)
			if err != nil {
				return err
			}
			var hits agent.RuleHits
			if err := control.NewClient(g.socket).Get("/v1/rules/hits", &hits); err != nil {
				return err
			}
			r := unusedSince(&hits, since, time.Now().UTC().Add(-d))
			if g.output == "json" {
				return writeJSON(g, r)
			}
			printUnused(g, r, time.Now())
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

// unusedReport is what `report unused` says, and prints with -o json.
type unusedReport struct {
	Since           string               `json:"since"`  // the period, as asked
	Cutoff          time.Time            `json:"cutoff"` // its start
	CountersCreated time.Time            `json:"counters_created,omitzero"`
	CountersReset   *agent.CountersReset `json:"counters_reset,omitempty"`
	// Unused had no hit in the period, and were counted for all of it.
	Unused []agent.RuleHit `json:"unused"`
	// NotCountedLongEnough had no hit since they began to be counted, but
	// that is after the cutoff: whether they are unused for the period
	// cannot be said.
	NotCountedLongEnough []agent.RuleHit `json:"not_counted_long_enough"`
}

func unusedSince(h *agent.RuleHits, since string, cutoff time.Time) *unusedReport {
	r := &unusedReport{Since: since, Cutoff: cutoff, CountersCreated: h.CountersCreated, CountersReset: h.CountersReset,
		Unused: []agent.RuleHit{}, NotCountedLongEnough: []agent.RuleHit{}}
	for _, rh := range h.Rules {
		switch {
		case rh.LastHit != nil && !rh.LastHit.Before(cutoff): // used
		case rh.CountingSince == nil || rh.CountingSince.After(cutoff):
			r.NotCountedLongEnough = append(r.NotCountedLongEnough, rh)
		default:
			r.Unused = append(r.Unused, rh)
		}
	}
	return r
}

func printUnused(g *globals, r *unusedReport, now time.Time) {
	if r.CountersCreated.IsZero() {
		fmt.Fprintln(g.out, "the agent cannot tell since when its counters count: no rule can be called unused")
	} else {
		fmt.Fprintf(g.out, "counting since the counters were created %s; each rule from when it entered the running policy, if later\n", when(r.CountersCreated, now))
	}
	if rs := r.CountersReset; rs != nil {
		fmt.Fprintf(g.out, "the counters were created anew (a reboot or `palisade clean`), found %s: hits before are not known\n", when(rs.Noticed, now))
	}
	fmt.Fprintln(g.out)
	if len(r.Unused) > 0 {
		w := ruleTable(g)
		for _, h := range r.Unused {
			printRuleHit(w, h, now)
		}
		w.Flush()
	}
	fmt.Fprintf(g.out, "%d rule(s) without a hit in %s\n", len(r.Unused), r.Since)
	if len(r.NotCountedLongEnough) == 0 {
		return
	}
	fmt.Fprintf(g.out, "\nquiet since counting began, less than %s ago: cannot say whether unused for %s\n", r.Since, r.Since)
	w := ruleTable(g)
	longest := now
	for _, h := range r.NotCountedLongEnough {
		printRuleHit(w, h, now)
		if h.CountingSince != nil && h.CountingSince.Before(longest) {
			longest = *h.CountingSince
		}
	}
	w.Flush()
	fmt.Fprintf(g.out, "%d rule(s) quiet since counting began, %s ago at most: cannot say for %s\n",
		len(r.NotCountedLongEnough), age(now.Sub(longest)), r.Since)
}
