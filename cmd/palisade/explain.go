package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
	"github.com/spf13/cobra"
)

func explainCmd(g *globals) *cobra.Command {
	var from, to string
	cmd := &cobra.Command{
		Use:   "explain DIR --from SRC[@IFACE[.VLAN]] --to DST:PORT/PROTO|DST/icmp",
		Short: "Say what the rules in DIR do with a flow: verdict, organisation, rule and why",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := rules.ParseFlow(from, to)
			if err != nil {
				return err
			}
			c, err := compileDir(args[0])
			if err != nil {
				return err
			}
			e := c.Explain(f)
			if g.output == "json" {
				return writeJSON(g, e)
			}
			printExplanation(g, e)
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "source address, optionally @interface[.vlan] (default: where it is registered)")
	cmd.Flags().StringVar(&to, "to", "", "destination as ADDR:PORT/tcp, ADDR:PORT/udp or ADDR/icmp")
	cmd.MarkFlagRequired("from")
	cmd.MarkFlagRequired("to")
	return cmd
}

// compileDir loads and compiles a rules directory; errors come back as
// file:line:col lines.
func compileDir(dir string) (*policy.Compiled, error) {
	p, err := rules.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("rules refused:\n%w", err)
	}
	return policy.Compile(p), nil
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
