package results

import (
	"errors"
	"fmt"
	"strings"
)

// InspectionFlood is part 5's capacity figure: SYNs to the inspected
// service offered faster than the inspector takes them, so its queues
// never run dry (bench/README.md).
type InspectionFlood struct {
	Seconds         float64 `json:"seconds"`      // how long frames were sent
	WallSeconds     float64 `json:"wall_seconds"` // until the inspector had handled the last queued packet
	Sent            uint64  `json:"sent"`         // SYNs the generator sent
	Packets         uint64  `json:"packets"`      // packets the inspector handled (SYNs, and the replies of those it passed)
	QueueFull       uint64  `json:"queue_full"`   // packets the kernel dropped: the queue held queueLen packets
	SocketFull      uint64  `json:"socket_full"`  // packets the kernel dropped: the agent's socket buffer was full
	AgentCPUSeconds float64 `json:"agent_cpu_seconds"`
	PpsPerCore      float64 `json:"pps_per_core"` // Packets / AgentCPUSeconds
	SingleVerdicts  uint64  `json:"single_verdicts"`
	BatchVerdicts   uint64  `json:"batch_verdicts"`
	PacketsPerMsg   float64 `json:"packets_per_verdict_message"`
	KernelPackets   uint64  `json:"kernel_packets,omitempty"` // handed to the agent by the kernel's queues (issue 18; 0 before)
}

// Derive fills the ratios from the counts.
func (f *InspectionFlood) Derive() {
	if f.AgentCPUSeconds > 0 {
		f.PpsPerCore = float64(f.Packets) / f.AgentCPUSeconds
	}
	if msgs := f.SingleVerdicts + f.BatchVerdicts; msgs > 0 {
		f.PacketsPerMsg = float64(f.Packets) / float64(msgs)
	}
}

func checkFlood(f *InspectionFlood) error {
	if f == nil {
		return errors.New("inspection: no flood figure")
	}
	var errs []error
	if f.Sent == 0 || f.Packets == 0 {
		errs = append(errs, fmt.Errorf("inspection flood: %d SYNs sent, %d packets handled", f.Sent, f.Packets))
	}
	if f.AgentCPUSeconds <= 0 || !near(f.PpsPerCore, float64(f.Packets)/f.AgentCPUSeconds) {
		errs = append(errs, fmt.Errorf("inspection flood: %v pps per core from %d packets in %v s", f.PpsPerCore, f.Packets, f.AgentCPUSeconds))
	}
	msgs := f.SingleVerdicts + f.BatchVerdicts
	if msgs == 0 || msgs > f.Packets || !near(f.PacketsPerMsg, float64(f.Packets)/float64(msgs)) {
		errs = append(errs, fmt.Errorf("inspection flood: %d verdict messages for %d packets", msgs, f.Packets))
	}
	return errors.Join(errs...)
}

func floodRows(b *strings.Builder, f *InspectionFlood) {
	if f == nil {
		return
	}
	fmt.Fprintf(b, "| flood: packets per second per consumer core, queues never empty | %.0f |\n", f.PpsPerCore)
	fmt.Fprintf(b, "| flood: packets per verdict message | %.2f (%d single, %d batch) |\n", f.PacketsPerMsg, f.SingleVerdicts, f.BatchVerdicts)
	fmt.Fprintf(b, "| flood: load | %d SYNs in %.1f s (%.0f pps offered); %d packets handled%s in %.1f s, palisaded %.2f CPU s; "+
		"the kernel dropped %d (queue full) and %d (socket buffer full). Handled and dropped count both directions of "+
		"the flagged flows: the SYNs, the service's SYN-ACKs and the host's resets |\n",
		f.Sent, f.Seconds, float64(f.Sent)/f.Seconds, f.Packets, kernelSaid(f.KernelPackets), f.WallSeconds, f.AgentCPUSeconds, f.QueueFull, f.SocketFull)
}
