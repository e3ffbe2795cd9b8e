package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/palisade-psn/palisade/pkg/agent"
)

func ruleTable(g *globals) *tabwriter.Writer {
	w := tabwriter.NewWriter(g.out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "RULE\tLAST HIT\tCOUNTING SINCE\tDEFINED AT")
	return w
}

func printRuleHit(w io.Writer, h agent.RuleHit, now time.Time) {
	last, since := "never", "unknown"
	if h.LastHit != nil {
		last = when(*h.LastHit, now)
	}
	if h.CountingSince != nil {
		since = when(*h.CountingSince, now)
	}
	fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", h.Rule, last, since, h.At)
}

// when is a time and how long ago it was: 2026-03-01T10:00:00Z (3h ago).
func when(t, now time.Time) string {
	return fmt.Sprintf("%s (%s ago)", t.UTC().Format(time.RFC3339), age(now.Sub(t)))
}

// age is a duration as a person reads it: 40s, 3h, 12d.
func age(d time.Duration) string {
	d = max(d, 0)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}
