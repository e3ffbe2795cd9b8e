package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
	"github.com/spf13/cobra"
)

func explainCmd(g *globals) *cobra.Command {
	var from, to string
	var off bool
	cmd := &cobra.Command{
		Use:   "explain [DIR] --from SRC[@IFACE[.VLAN]] --to DST:PORT/PROTO|DST/icmp [--offline]",
		Short: "Say what the boundary does with a flow: verdict, organisation, rule and why",
		Long: `Say what the boundary does with a flow: verdict, organisation, rule and why.

With palisaded running, the answer is the running boundary's: the policy in
force with the suspensions and lapsed certificates the datapath holds. With
--offline, or when no agent runs, it is for the rules in DIR as a gateway
with no suspensions of its own would enforce them now. The first line says
which, with the policy and state digests.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := rules.ParseFlow(from, to)
			if err != nil {
				return err
			}
			a, err := askedFor(args, off)
			if err != nil {
				return err
			}
			b, es, err := explainFlows(g, a, []rules.Flow{f})
			if err != nil {
				return err
			}
			if g.output == "json" {
				return writeJSON(g, explainAnswer{Boundary: b, Explanation: es[0]})
			}
			printBoundary(g.out, b)
			printExplanation(g, es[0])
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "source address, optionally @interface[.vlan] (default: where it is registered)")
	cmd.Flags().StringVar(&to, "to", "", "destination as ADDR:PORT/tcp, ADDR:PORT/udp or ADDR/icmp")
	cmd.Flags().BoolVar(&off, "offline", false, "answer for the rules in DIR alone, not the running boundary")
	cmd.MarkFlagRequired("from")
	cmd.MarkFlagRequired("to")
	return cmd
}

// explainAnswer is explain's JSON: the explanation and what it is for.
type explainAnswer struct {
	Boundary control.Boundary `json:"boundary"`
	policy.Explanation
}

// askedFor loads the rules directory named, if any. Offline needs one.
func askedFor(args []string, off bool) (asked, error) {
	a := asked{offline: off}
	if len(args) == 0 {
		if off {
			return a, errors.New("--offline needs a rules directory")
		}
		return a, nil
	}
	a.dir = args[0]
	p, err := rules.Load(a.dir)
	if err != nil {
		return a, fmt.Errorf("rules refused:\n%w", err)
	}
	a.rules = p
	return a, nil
}

func writeJSON(g *globals, v any) error {
	enc := json.NewEncoder(g.out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func printExplanation(g *globals, e policy.Explanation) {
	w := tabwriter.NewWriter(g.out, 2, 4, 2, ' ', 0)
	defer w.Flush()
	fmt.Fprintf(w, "flow\t%s\n", e.Flow)
	fmt.Fprintf(w, "ingress\t%s\n", e.Ingress)
	fmt.Fprintf(w, "verdict\t%s\n", e.Verdict)
	if e.Org != "" {
		fmt.Fprintf(w, "organisation\t%s\n", e.Org)
	}
	if e.Rule != "" {
		fmt.Fprintf(w, "rule\t%s\t%s\n", e.Rule, e.At)
	}
	if e.Reason != "" {
		fmt.Fprintf(w, "drop reason\t%s\n", e.Reason)
	}
	fmt.Fprintf(w, "why\t%s\n", e.Why)
}
