package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"text/tabwriter"

	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/spf13/cobra"
)

type ifaceStatus struct {
	Interface string `json:"interface"`
	Mode      string `json:"mode"`
}

type statusReport struct {
	PinPath    string                                 `json:"pin_path"`
	Interfaces []ifaceStatus                          `json:"interfaces"`
	Policy     datapath.PolicyState                   `json:"policy"`
	Orgs       map[string]map[string]datapath.Counter `json:"organisations"`
	Drops      map[string]datapath.Counter            `json:"drops"`
	Forwarded  map[string]datapath.Counter            `json:"forwarded"`
}

func statusCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show where the boundary is attached, its policy and its counters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := status(g.pinPath)
			if err != nil {
				return err
			}
			if g.output == "json" {
				enc := json.NewEncoder(g.out)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			printStatus(g, r)
			return nil
		},
	}
}

func status(pin string) (*statusReport, error) {
	p, err := datapath.OpenPinned(pin)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	r := &statusReport{PinPath: pin, Interfaces: []ifaceStatus{}}
	names, err := datapath.PinnedLinks(pin)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		mode, err := datapath.XDPMode(n)
		s := ifaceStatus{Interface: n, Mode: string(mode)}
		if err != nil {
			s.Mode = "unknown (" + err.Error() + ")"
		}
		r.Interfaces = append(r.Interfaces, s)
	}
	if r.Policy, err = p.Policy(); err != nil {
		return nil, err
	}
	if r.Orgs, err = p.Counters().OrgCounts(); err != nil {
		return nil, err
	}
	if r.Drops, err = p.Counters().DropCounts(); err != nil {
		return nil, err
	}
	if r.Forwarded, err = p.Counters().ForwardCounts(); err != nil {
		return nil, err
	}
	return r, nil
}

func printStatus(g *globals, r *statusReport) {
	w := tabwriter.NewWriter(g.out, 2, 4, 2, ' ', 0)
	defer w.Flush()
	fmt.Fprintf(w, "pinned state\t%s\n", r.PinPath)
	for _, i := range r.Interfaces {
		fmt.Fprintf(w, "attached\t%s\t%s\n", i.Interface, i.Mode)
	}
	if !r.Policy.Loaded {
		fmt.Fprintln(w, "policy\tNONE LOADED: every packet is dropped")
	} else {
		fmt.Fprintf(w, "policy\tgeneration %d\tforwarding in XDP: %v\n", r.Policy.Generation, r.Policy.Forwarding)
	}
	fmt.Fprintf(w, "allowed packets\tforwarded in XDP %d\tpassed to the kernel stack %d\n",
		r.Forwarded["xdp"].Packets, r.Forwarded["stack"].Packets)
	fmt.Fprintln(w, "\nORGANISATION\tALLOWED\tINSPECTED\tDROPPED\tBYTES ALLOWED")
	for _, org := range sortedKeys(r.Orgs) {
		c := r.Orgs[org]
		name := org
		if name == "" {
			name = "(unattributed)"
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%d\n", name, c["allow"].Packets, c["inspect"].Packets, c["drop"].Packets, c["allow"].Bytes)
	}
	fmt.Fprintln(w, "\nDROP REASON\tPACKETS")
	for _, reason := range sortedKeys(r.Drops) {
		if n := r.Drops[reason].Packets; n > 0 {
			fmt.Fprintf(w, "%s\t%d\n", reason, n)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
