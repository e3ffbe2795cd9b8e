package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/palisade-psn/palisade/pkg/agent"
	"github.com/palisade-psn/palisade/pkg/doctor"
	"github.com/spf13/cobra"
)

// runDoctor is swapped by tests for one over a fake host.
var runDoctor = func(o doctor.Options) *doctor.Report { return doctor.Run(doctor.System{}, o) }

func doctorCmd(g *globals) *cobra.Command {
	o := doctor.Options{}
	var noProbe bool
	c := &cobra.Command{
		Use:   "doctor",
		Short: "Preflight: what this host lacks to run the boundary (ok/warn/FAIL; exits 1 on FAIL)",
		Long: `Checks the kernel and its BPF support, bpffs, BTF, the BPF JIT, memlock, iptables,
the config and its rules, and for each configured interface (and each --interface):
that it exists, its driver, native XDP support, XDP programs of others already
attached (a conflict), and receive VLAN offload. Then that the route to the first
address of each organisation's prefixes leads back through its ingress (or, for a
VLAN ingress, its VLAN device): the boundary drops other flows as reverse_path.
Last, what the flow and fragment tables cost against the host's memory (warn past a
quarter of it), and whether the organisations' flow quotas fit the flow table (warn
when they add up past it, or when a fair share is under 256 flows).

Native XDP support is learnt by attaching a program that passes every packet, in
driver mode, to an interface that has no XDP program, and removing it at once. Some
drivers reset their rings for that (a sub-second pause): --no-xdp-probe skips it.
Run as root; without CAP_BPF and CAP_NET_ADMIN the probes cannot run.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.ConfigExplicit = cmd.Flags().Changed("config")
			if cmd.Flags().Changed("pin-path") {
				o.PinPath = g.pinPath
			}
			o.ProbeXDP = !noProbe
			r := runDoctor(o)
			if err := printDoctor(g, r); err != nil {
				return err
			}
			if !r.OK {
				return errSilent
			}
			return nil
		},
	}
	c.Flags().StringVar(&o.ConfigPath, "config", agent.DefaultConfigPath, "palisaded's config file")
	c.Flags().StringSliceVar(&o.Interfaces, "interface", nil, "also check these interfaces (repeat or comma-separate)")
	c.Flags().BoolVar(&noProbe, "no-xdp-probe", false, "do not attach the pass-all probe program to learn native XDP support")
	return c
}

func printDoctor(g *globals, r *doctor.Report) error {
	if g.output == "json" {
		enc := json.NewEncoder(g.out)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	writeDoctorTable(g.out, r)
	return nil
}

func writeDoctorTable(out io.Writer, r *doctor.Report) {
	w := tabwriter.NewWriter(out, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "STATUS\tCHECK\tSUBJECT\tDETAIL")
	for _, res := range r.Results {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", res.Status, res.Check, res.Subject, res.Detail)
	}
	w.Flush()
	n := r.Counts()
	verdict := "ready"
	if !r.OK {
		verdict = "NOT ready: fix every FAIL"
	}
	fmt.Fprintf(out, "\n%d ok, %d warn, %d FAIL: %s\n", n[doctor.OK], n[doctor.Warn], n[doctor.Fail], verdict)
}
