package main

import (
	"cmp"
	"fmt"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/spf13/cobra"
)

// Talker is one row of `palisade top`: what an organisation or a rule
// moved during the interval.
type Talker struct {
	Name     string  `json:"name"`
	Packets  uint64  `json:"packets"`
	Bytes    uint64  `json:"bytes"`
	Dropped  uint64  `json:"dropped_packets,omitempty"` // organisations only
	PPS      float64 `json:"packets_per_second"`
	BitsPerS float64 `json:"bits_per_second"`
}

// Top is what `palisade top -o json` prints.
type Top struct {
	Interval      string   `json:"interval"`
	Organisations []Talker `json:"organisations"`
	Rules         []Talker `json:"rules"`
}

func topCmd(g *globals) *cobra.Command {
	var interval time.Duration
	var n int
	c := &cobra.Command{
		Use:   "top",
		Short: "Rank organisations and rules by the traffic they moved over a short interval",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := top(g, interval, n)
			if err != nil {
				return err
			}
			if g.output == "json" {
				return printJSON(g, t)
			}
			printTop(g, t)
			return nil
		},
	}
	c.Flags().DurationVar(&interval, "interval", 2*time.Second, "how long to measure")
	c.Flags().IntVarP(&n, "number", "n", 10, "rows of each table")
	return c
}

func top(g *globals, interval time.Duration, n int) (*Top, error) {
	cl := control.NewClient(g.socket)
	var a, b control.Counters
	if err := cl.Get("/v1/counters", &a); err != nil {
		return nil, err
	}
	start := time.Now()
	time.Sleep(interval)
	if err := cl.Get("/v1/counters", &b); err != nil {
		return nil, err
	}
	secs := time.Since(start).Seconds()
	t := &Top{Interval: interval.String(), Organisations: []Talker{}, Rules: []Talker{}}
	for org, byVerdict := range b.Orgs {
		var row Talker
		row.Name = orDash(org)
		for v, c := range byVerdict {
			d := a.Orgs[org][v]
			row.Packets += c.Packets - d.Packets
			row.Bytes += c.Bytes - d.Bytes
			if v == "drop" {
				row.Dropped += c.Packets - d.Packets
			}
		}
		t.Organisations = appendTalker(t.Organisations, row, secs)
	}
	for rule, c := range b.Rules {
		d := a.Rules[rule]
		t.Rules = appendTalker(t.Rules, Talker{Name: rule, Packets: c.Packets - d.Packets, Bytes: c.Bytes - d.Bytes}, secs)
	}
	t.Organisations, t.Rules = rank(t.Organisations, n), rank(t.Rules, n)
	return t, nil
}

func appendTalker(rows []Talker, r Talker, secs float64) []Talker {
	if r.Packets == 0 {
		return rows
	}
	r.PPS, r.BitsPerS = float64(r.Packets)/secs, float64(r.Bytes)*8/secs
	return append(rows, r)
}

// rank orders by bytes, then packets, then name, and keeps the first n.
func rank(rows []Talker, n int) []Talker {
	slices.SortFunc(rows, func(x, y Talker) int {
		if c := cmp.Compare(y.Bytes, x.Bytes); c != 0 {
			return c
		}
		if c := cmp.Compare(y.Packets, x.Packets); c != 0 {
			return c
		}
		return cmp.Compare(x.Name, y.Name)
	})
	if n > 0 && len(rows) > n {
		rows = rows[:n]
	}
	return rows
}

func printTop(g *globals, t *Top) {
	w := tabwriter.NewWriter(g.out, 2, 4, 2, ' ', 0)
	defer w.Flush()
	fmt.Fprintf(w, "over %s\n\nORGANISATION\tPACKETS\tBYTES\tDROPPED\tPKT/S\tBIT/S\n", t.Interval)
	for _, r := range t.Organisations {
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%.1f\t%.0f\n", r.Name, r.Packets, r.Bytes, r.Dropped, r.PPS, r.BitsPerS)
	}
	fmt.Fprintln(w, "\nRULE\tPACKETS\tBYTES\tPKT/S\tBIT/S")
	for _, r := range t.Rules {
		fmt.Fprintf(w, "%s\t%d\t%d\t%.1f\t%.0f\n", r.Name, r.Packets, r.Bytes, r.PPS, r.BitsPerS)
	}
}
