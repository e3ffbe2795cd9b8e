package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/inspect"
	"github.com/spf13/cobra"
)

func statusCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Show where the boundary is attached, its policy and its counters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := status(g)
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

// status asks the agent; when none runs, it reads the pinned maps, which
// go on enforcing without it.
func status(g *globals) (*control.Status, error) {
	var st control.Status
	err := control.NewClient(g.socket).Get("/v1/status", &st)
	if errors.Is(err, control.ErrNoAgent) {
		return pinnedStatus(g.pinPath)
	}
	if err != nil {
		return nil, err
	}
	st.Agent = "running"
	return &st, nil
}

func pinnedStatus(pin string) (*control.Status, error) {
	p, err := datapath.OpenPinned(pin)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	r := &control.Status{Agent: "not running (counters read from the pinned maps)", Interfaces: []control.InterfaceStatus{}}
	names, err := datapath.PinnedLinks(pin)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		mode, err := datapath.XDPMode(n)
		s := control.InterfaceStatus{Interface: n, Mode: string(mode)}
		if err != nil {
			s.Mode = "unknown (" + err.Error() + ")"
		}
		r.Interfaces = append(r.Interfaces, s)
	}
	if r.Policy.PolicyState, err = p.Policy(); err != nil {
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
	if r.Flows, err = pinnedFlows(p); err != nil {
		return nil, err
	}
	// Refusals, when the pins have them; limits live in the policy, which
	// only the agent holds.
	if r.Refusals, err = p.Counters().OrgRefusals(); err != nil {
		return nil, err
	}
	r.Inspection.QueuePath = inspect.QueuePathNow(context.Background())
	return r, nil
}

// pinnedFlows reads the flow quotas; pins of an agent older than them
// have none to show.
func pinnedFlows(p *datapath.Pinned) (control.FlowsStatus, error) {
	var f control.FlowsStatus
	var err error
	if f.TableSize, err = p.FlowTableSize(); err != nil {
		return f, err
	}
	f.Orgs, err = p.FlowUse()
	if errors.Is(err, os.ErrNotExist) {
		return f, nil
	}
	return f, err
}

func printStatus(g *globals, r *control.Status) {
	w := tabwriter.NewWriter(g.out, 2, 4, 2, ' ', 0)
	defer w.Flush()
	fmt.Fprintf(w, "agent\t%s\n", r.Agent)
	for _, i := range r.Interfaces {
		fmt.Fprintf(w, "attached\t%s\t%s\n", i.Interface, i.Mode)
	}
	if !r.Policy.Loaded {
		fmt.Fprintln(w, "policy\tNONE LOADED: every packet is dropped")
	} else {
		fmt.Fprintf(w, "policy\tgeneration %d\tforwarding in XDP: %v\n", r.Policy.Generation, r.Policy.Forwarding)
		printDigests(w, r.Policy)
	}
	printQueuePath(w, r.Inspection)
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
	printFlowUse(w, r.Flows)
	printBudgets(w, r.Limits, r.Refusals)
}

// printBudgets shows, for each organisation with a limits: block or
// refusals, its limits and the packets its own budgets refused.
func printBudgets(w io.Writer, limits map[string]control.OrgLimits, refused map[string]map[string]datapath.Counter) {
	show := map[string]bool{}
	for org := range limits {
		show[org] = true
	}
	for org, byReason := range refused {
		for _, n := range byReason {
			if n.Packets > 0 {
				show[org] = true
			}
		}
	}
	if len(show) == 0 {
		return // no limits set and nothing refused, or an agent older than them
	}
	fmt.Fprintln(w, "\nORGANISATION\tLIMITS\tREFUSED BY ITS BUDGETS (packets)")
	for _, org := range sortedKeys(show) {
		fmt.Fprintf(w, "%s\t%s\t%s\n", org, limitsText(limits[org]), refusalsText(refused[org]))
	}
}

func limitsText(l control.OrgLimits) string {
	var s []string
	for _, f := range []struct {
		n    uint64
		unit string
	}{{uint64(l.Flows), "flows"}, {uint64(l.Fragments), "fragments"}, {l.NewFlowsPerSecond, "new flows/s"},
		{l.PacketsPerSecond, "packets/s"}, {l.BytesPerSecond, "bytes/s"}} {
		if f.n > 0 {
			s = append(s, fmt.Sprintf("%d %s", f.n, f.unit))
		}
	}
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ", ")
}

func refusalsText(byReason map[string]datapath.Counter) string {
	var s []string
	for _, reason := range sortedKeys(byReason) {
		if n := byReason[reason].Packets; n > 0 {
			s = append(s, fmt.Sprintf("%s %d", reason, n))
		}
	}
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ", ")
}

// printFlowUse shows each organisation's flows against its quota: at its
// quota its new flows are refused (flow_quota).
func printFlowUse(w io.Writer, f control.FlowsStatus) {
	if f.TableSize == 0 && len(f.Orgs) == 0 {
		return // an agent or pins older than flow quotas
	}
	var total uint64
	for _, u := range f.Orgs {
		total += u.InUse
	}
	fmt.Fprintf(w, "\nflow table\t%d entries, %d in use\n", f.TableSize, total)
	fmt.Fprintln(w, "\nORGANISATION\tFLOWS IN USE\tQUOTA\tOF QUOTA")
	for _, org := range sortedKeys(f.Orgs) {
		u := f.Orgs[org]
		fmt.Fprintf(w, "%s\t%d\t%d\t%s\n", org, u.InUse, u.Quota, ofQuota(u))
	}
}

func ofQuota(u datapath.FlowUse) string {
	if u.Quota == 0 {
		return "-"
	}
	s := fmt.Sprintf("%.0f%%", 100*float64(u.InUse)/float64(u.Quota))
	if u.InUse >= uint64(u.Quota) {
		s += " AT QUOTA: new flows refused"
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// printQueuePath says whether inspected packets reach the inspector.
func printQueuePath(w io.Writer, in control.InspectionStatus) {
	q := in.QueuePath
	switch {
	case !q.Intact:
		fmt.Fprintf(w, "inspection\tQUEUE PATH MISSING: %s\tfail-closed inspected flows dropped, fail-open ones forwarded uninspected\n", strings.Join(q.Missing, "; "))
	case !in.Running:
		fmt.Fprintln(w, "inspection\tqueue path in place, no inspector reading it (fail-closed flows dropped)")
	case q.Restorations > 0:
		fmt.Fprintf(w, "inspection\tqueue path intact\trestored %d times, last at %s\n", q.Restorations, q.LastRestored.Format(time.RFC3339))
	default:
		fmt.Fprintln(w, "inspection\tqueue path intact")
	}
}
