package results

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Inspection is part 5: the NFQUEUE inspector, the real agent in a lab
// gateway with real TLS clients (bench/README.md).
type Inspection struct {
	Absent string `json:"absent,omitempty"` // why there is no figure
	Rule   string `json:"rule"`             // the inspected rule the flows match

	// The rate: Clients open flagged TLS flows for LoadSeconds.
	LoadSeconds     float64 `json:"load_seconds"`
	Clients         int     `json:"clients"`
	Flows           uint64  `json:"flows"`
	FailedFlows     uint64  `json:"failed_flows"`
	Packets         uint64  `json:"packets"`                     // palisade_inspect_packets_total over the load
	WallSeconds     float64 `json:"wall_seconds"`                // the load's duration
	AgentCPUSeconds float64 `json:"agent_cpu_seconds"`           // palisaded's user + system time over the load
	PpsPerCore      float64 `json:"pps_per_core"`                // Packets / AgentCPUSeconds
	Pps             float64 `json:"pps"`                         // Packets / WallSeconds: what the clients offered
	CallbackSeconds float64 `json:"callback_seconds"`            // time inside the per-packet callback (its histogram's sum)
	CallbackPps     float64 `json:"callback_pps"`                // packets / CallbackSeconds: the callback alone
	SingleVerdicts  uint64  `json:"single_verdicts"`             // verdict messages for one packet over the load
	BatchVerdicts   uint64  `json:"batch_verdicts"`              // batch verdict messages (a run of accepts each) over the load
	PacketsPerMsg   float64 `json:"packets_per_verdict_message"` // Packets / (SingleVerdicts + BatchVerdicts)

	// The share: one flow of FlowBytes through the gateway.
	FlowBytes    int     `json:"flow_bytes"`
	FlowReceived int     `json:"flow_received_bytes"`
	FlowPackets  uint64  `json:"flow_packets"` // the rule's hits in the datapath (both directions)
	FlowQueued   uint64  `json:"flow_queued"`  // packets that reached the inspector meanwhile
	Share        float64 `json:"share"`        // FlowQueued / FlowPackets
	// Shares are the share by how the ClientHello was sent (issue 18):
	// whole, and split over 3 and 6 segments, several flows each. The
	// single flow above is the first flow of the whole case. Absent from
	// results before issue 18.
	Shares []InspectionShare `json:"shares,omitempty"`
	// KernelPackets is what the gateway's nfnetlink_queue handed to the
	// agent over the load (its last packet id less its user drops): the
	// kernel's side of Packets. Absent (0) from results before issue 18.
	KernelPackets uint64 `json:"kernel_packets,omitempty"`

	Flood *InspectionFlood `json:"flood"`
}

func checkInspection(r *Results) error {
	x := r.Inspection
	switch {
	case x == nil && notYetHas(r, 5):
		return nil
	case x == nil:
		return errors.New("inspection (part 5): missing, and no reason given")
	case x.Absent != "":
		if x.Packets != 0 || x.FlowPackets != 0 {
			return errors.New("inspection: absent but has figures")
		}
		return nil
	}
	var errs []error
	ratio := func(what string, got, num, den float64) {
		if den <= 0 || !near(got, num/den) {
			errs = append(errs, fmt.Errorf("inspection: %s %v is not %v / %v", what, got, num, den))
		}
	}
	ratio("pps per core", x.PpsPerCore, float64(x.Packets), x.AgentCPUSeconds)
	ratio("pps", x.Pps, float64(x.Packets), x.WallSeconds)
	ratio("share", x.Share, float64(x.FlowQueued), float64(x.FlowPackets))
	msgs := x.SingleVerdicts + x.BatchVerdicts
	ratio("packets per verdict message", x.PacketsPerMsg, float64(x.Packets), float64(msgs))
	if msgs == 0 || msgs > x.Packets {
		errs = append(errs, fmt.Errorf("inspection: %d verdict messages for %d packets", msgs, x.Packets))
	}
	if x.Flows == 0 || x.Packets < x.Flows {
		errs = append(errs, fmt.Errorf("inspection: %d packets reached the inspector for %d flows, want at least one each", x.Packets, x.Flows))
	}
	if x.FlowReceived != x.FlowBytes || x.FlowQueued == 0 || x.FlowQueued > x.FlowPackets {
		errs = append(errs, fmt.Errorf("inspection: flow of %d/%d bytes, %d of %d packets queued", x.FlowReceived, x.FlowBytes, x.FlowQueued, x.FlowPackets))
	}
	if err := checkFlood(x.Flood); err != nil {
		errs = append(errs, err)
	}
	if err := checkShares(x.Shares); err != nil {
		errs = append(errs, err)
	}
	if x.CallbackPps < 0 || math.IsNaN(x.CallbackPps) {
		errs = append(errs, errors.New("inspection: callback rate is not a rate"))
	}
	return errors.Join(errs...)
}

func inspectSection(b *strings.Builder, r *Results) {
	x := r.Inspection
	if x == nil {
		return
	}
	b.WriteString("## 5. NFQUEUE inspection\n\n")
	if x.Absent != "" {
		fmt.Fprintf(b, "absent: %s\n", oneLine(x.Absent))
		return
	}
	fmt.Fprintf(b, "The real palisaded in a lab gateway (rules/, native XDP on veth), rule %s; TLS clients in an organisation's namespace, "+
		"the server behind the gateway. Accepted packets that come less than 250 µs apart share a batch verdict "+
		"(one message for a run of up to 32).\n\n", x.Rule)
	b.WriteString("| figure | value |\n|---|---|\n")
	fmt.Fprintf(b, "| packets per second per consumer core (palisaded's CPU time) | %.0f |\n", x.PpsPerCore)
	fmt.Fprintf(b, "| packets per second inside the per-packet callback alone | %.0f |\n", x.CallbackPps)
	fmt.Fprintf(b, "| packets per verdict message | %.2f (%d single, %d batch) |\n", x.PacketsPerMsg, x.SingleVerdicts, x.BatchVerdicts)
	fmt.Fprintf(b, "| load | %d clients for %.1f s: %d flows (%d failed), %d packets queued%s, %.0f pps offered, palisaded %.2f CPU s |\n",
		x.Clients, x.WallSeconds, x.Flows, x.FailedFlows, x.Packets, kernelSaid(x.KernelPackets), x.Pps, x.AgentCPUSeconds)
	floodRows(b, x.Flood)
	fmt.Fprintf(b, "| share of a flagged flow's packets that reached userspace | %.2f%% (%d of %d packets, one TLS flow of %d KiB) |\n",
		100*x.Share, x.FlowQueued, x.FlowPackets, x.FlowBytes>>10)
	shareRows(b, x.Shares)
}

// kernelSaid is the kernel queue's count beside the inspector's, when the
// results have it.
func kernelSaid(n uint64) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" (the kernel's queue handed it %d)", n)
}
