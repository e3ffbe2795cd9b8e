package results

import (
	"errors"
	"fmt"
	"strings"

	"github.com/palisade-psn/palisade/bench/internal/stats"
)

// InspectionShare is part 5's share figure for one way of sending the
// ClientHello: flagged TLS flows of FlowBytes each, and how many of their
// packets reached userspace (bench/README.md). Issue 18: the inspector
// holds a split ClientHello's segments until the verdict, so the split
// cases are where a change in holding shows.
type InspectionShare struct {
	Case string `json:"case"` // whole, split3, split6
	// Segments is how many writes the client cut its ClientHello into (a
	// pause between them, so each leaves as its own segment); 0: one write,
	// which the kernel cuts at the MSS (HelloBytes / MSS, rounded up).
	Segments   int    `json:"segments"`
	HelloBytes int    `json:"hello_bytes"` // the ClientHello record as the client wrote it
	MSS        int    `json:"mss"`         // the client's send MSS (TCP_INFO)
	FlowBytes  int    `json:"flow_bytes"`  // what the server sends on each flow
	Flows      []Flow `json:"flows"`

	// Sums over Flows, and their ratio.
	Packets      uint64  `json:"packets"`       // the rule's hits in XDP, both directions
	Queued       uint64  `json:"queued"`        // palisade_inspect_packets_total
	Held         uint64  `json:"held"`          // of Queued, held until the flow's verdict (action="hold")
	KernelQueued uint64  `json:"kernel_queued"` // handed to the agent by the gateway's nfnetlink_queue
	Retransmits  uint64  `json:"client_retransmits"`
	Share        float64 `json:"share"` // Queued / Packets
}

// Flow is one flagged TLS flow of an InspectionShare case.
type Flow struct {
	Received        int     `json:"received_bytes"`
	Packets         uint64  `json:"packets"`
	Queued          uint64  `json:"queued"`
	Held            uint64  `json:"held"`
	KernelQueued    uint64  `json:"kernel_queued"`
	Retransmits     uint64  `json:"client_retransmits"` // TCP_INFO total_retrans of the client's socket
	DecisionSeconds float64 `json:"decision_seconds"`   // palisade_inspect_decision_seconds: first queued packet to verdict
}

// Sum fills the sums and the share from Flows.
func (s *InspectionShare) Sum() {
	s.Packets, s.Queued, s.Held, s.KernelQueued, s.Retransmits = 0, 0, 0, 0, 0
	for _, f := range s.Flows {
		s.Packets += f.Packets
		s.Queued += f.Queued
		s.Held += f.Held
		s.KernelQueued += f.KernelQueued
		s.Retransmits += f.Retransmits
	}
	s.Share = 0
	if s.Packets > 0 {
		s.Share = float64(s.Queued) / float64(s.Packets)
	}
}

// helloSegments is how many segments the ClientHello left in.
func (s *InspectionShare) helloSegments() int {
	if s.Segments > 0 || s.MSS <= 0 {
		return s.Segments
	}
	return (s.HelloBytes + s.MSS - 1) / s.MSS
}

// checkShares checks the cases' sums and ratios. Results from before
// issue 18 have no cases; a fresh run's are required by the suite's test.
func checkShares(cases []InspectionShare) error {
	var errs []error
	for _, c := range cases {
		got := c
		got.Sum()
		switch {
		case len(c.Flows) == 0:
			errs = append(errs, fmt.Errorf("inspection share %s: no flows", c.Case))
			continue
		case got.Packets != c.Packets || got.Queued != c.Queued || got.Held != c.Held ||
			got.KernelQueued != c.KernelQueued || got.Retransmits != c.Retransmits:
			errs = append(errs, fmt.Errorf("inspection share %s: the sums are not its flows'", c.Case))
		case c.Packets == 0 || !near(c.Share, float64(c.Queued)/float64(c.Packets)):
			errs = append(errs, fmt.Errorf("inspection share %s: share %v is not %d / %d", c.Case, c.Share, c.Queued, c.Packets))
		case c.HelloBytes <= 0:
			errs = append(errs, fmt.Errorf("inspection share %s: no ClientHello size", c.Case))
		}
		for i, f := range c.Flows {
			if f.Received != c.FlowBytes || f.Queued == 0 || f.Queued > f.Packets || f.Held > f.Queued {
				errs = append(errs, fmt.Errorf("inspection share %s flow %d: %d/%d bytes, %d of %d packets queued, %d held",
					c.Case, i, f.Received, c.FlowBytes, f.Queued, f.Packets, f.Held))
			}
		}
	}
	return errors.Join(errs...)
}

func shareRows(b *strings.Builder, cases []InspectionShare) {
	if len(cases) == 0 {
		return
	}
	b.WriteString("\nShare of a flagged flow's packets that reached userspace, by how the client sent its ClientHello " +
		"(packets: the rule's hits in XDP, both directions; reached userspace: the inspector's count, and the gateway's " +
		"nfnetlink_queue count of packets handed to it):\n\n")
	b.WriteString("| ClientHello | flows × KiB | packets | reached userspace (kernel) | share | held until the verdict | per flow: reached / held (min–max) | client retransmits | time to decision, median |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range cases {
		how := fmt.Sprintf("%d B in %d writes", c.HelloBytes, c.Segments)
		if c.Segments == 0 {
			how = fmt.Sprintf("%d B in one write, MSS %d: %d segment(s)", c.HelloBytes, c.MSS, c.helloSegments())
		}
		qlo, qhi, hlo, hhi := flowRange(c.Flows)
		fmt.Fprintf(b, "| %s: %s | %d × %d | %d | %d (%d) | %.2f%% | %d | %d–%d / %d–%d | %d | %.1f ms |\n",
			c.Case, how, len(c.Flows), c.FlowBytes>>10, c.Packets, c.Queued, c.KernelQueued, 100*c.Share, c.Held,
			qlo, qhi, hlo, hhi, c.Retransmits, 1e3*medianDecision(c.Flows))
	}
}

func flowRange(fs []Flow) (qlo, qhi, hlo, hhi uint64) {
	for i, f := range fs {
		if i == 0 || f.Queued < qlo {
			qlo = f.Queued
		}
		if i == 0 || f.Held < hlo {
			hlo = f.Held
		}
		qhi, hhi = max(qhi, f.Queued), max(hhi, f.Held)
	}
	return
}

func medianDecision(fs []Flow) float64 {
	xs := make([]float64, len(fs))
	for i, f := range fs {
		xs[i] = f.DecisionSeconds
	}
	return stats.Median(xs)
}
