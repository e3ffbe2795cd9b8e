package inspection

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/palisade-psn/palisade/bench/internal/results"
	"github.com/palisade-psn/palisade/bench/internal/trafficgen"
	"github.com/palisade-psn/palisade/internal/lab"
)

// Flood: SYNs to the inspected service from the organisation's host, on
// trafficgen.MaxFrames source ports, sent faster than the inspector takes
// them, so that its queues always hold packets: the consumer never waits
// for the next packet, and what it handles per second of CPU is its
// capacity (the rate phase's figure includes waking up for every packet).
// Bursts of floodBurst frames every floodGap offer ~floodBurst/floodGap
// packets a second; the kernel drops what the queues cannot hold (the
// rule is fail-closed) and counts it.
const (
	floodBurst = 400
	floodGap   = 5 * time.Millisecond
	floodCPU   = 0
)

// flood runs the flood for d and fills out.Flood.
func flood(ctx context.Context, m *agent, d time.Duration, out *results.Inspection) error {
	gen, err := floodGenerator(m.gw)
	if err != nil {
		return err
	}
	defer gen.Close()
	var sending time.Duration
	w, err := m.measure(func() error {
		start := time.Now()
		for time.Since(start) < d && ctx.Err() == nil {
			if _, err := gen.Burst(floodBurst, floodCPU); err != nil {
				return err
			}
			time.Sleep(floodGap)
		}
		sending = time.Since(start)
		// Generous: on a host busy with other work the agent may get a
		// fraction of a CPU for the backlog (and each scrape of its
		// metrics execs iptables twice). The figure is CPU time, so
		// waiting longer changes nothing in it.
		return m.awaitIdle(30 * time.Second)
	})
	if err != nil {
		return err
	}
	sent, err := gen.Sent()
	if err != nil {
		return err
	}
	before, after := w.before, w.after
	f := &results.InspectionFlood{
		Seconds: sending.Seconds(), WallSeconds: w.wall.Seconds(), Sent: sent,
		Packets:         uint64(after.queued - before.queued),
		QueueFull:       uint64(after.queueFull - before.queueFull),
		SocketFull:      uint64(after.socketFull - before.socketFull),
		AgentCPUSeconds: w.cpu.Seconds(),
		SingleVerdicts:  uint64(after.single - before.single),
		BatchVerdicts:   uint64(after.batch - before.batch),
		KernelPackets:   after.kernel - before.kernel,
	}
	f.Derive()
	out.Flood = f
	return ctx.Err()
}

// floodGenerator loads the generator on the organisation host's link: SYNs
// from its address to the inspected service, one per source port.
func floodGenerator(gw *lab.Gateway) (*trafficgen.Generator, error) {
	h := gw.Orgs[host]
	var mac net.HardwareAddr
	err := gw.GW.Do(func() error {
		ifi, err := net.InterfaceByName(h.GWIf)
		if err != nil {
			return err
		}
		mac = ifi.HardwareAddr
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("flood: the gateway's address on %s: %w", h.GWIf, err)
	}
	dst := netip.MustParseAddrPort(service)
	frames := make([][]byte, trafficgen.MaxFrames)
	for i := range frames {
		if frames[i], err = synFrame(uint16(20000+i), dst, mac); err != nil {
			return nil, err
		}
	}
	return trafficgen.New(h.NS, h.If, frames)
}

// synFrame is a SYN without data from the organisation's host, padded to
// the Ethernet minimum after its IP packet (trafficgen.Frame's padding is
// payload, and a SYN carrying bytes would be inspected as such).
func synFrame(sport uint16, dst netip.AddrPort, mac net.HardwareAddr) ([]byte, error) {
	src := netip.MustParseAddr(source)
	eth := &layers.Ethernet{SrcMAC: floodMAC, DstMAC: mac, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: src.AsSlice(), DstIP: dst.Addr().AsSlice()}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dst.Port()), SYN: true, Window: 1024, Seq: 1}
	if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
		return nil, err
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, ip, tcp); err != nil {
		return nil, fmt.Errorf("flood frame: %w", err)
	}
	return append(buf.Bytes(), make([]byte, trafficgen.FrameLen-len(buf.Bytes()))...), nil
}

// floodMAC is the generator's source address; replies go to the host's own.
var floodMAC = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}

// awaitIdle waits until the inspector has handled everything queued: its
// packet count stands still for 200 ms.
func (m *agent) awaitIdle(limit time.Duration) error {
	last := -1.0
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		s, err := m.scrape()
		if err != nil {
			return err
		}
		if s.queued == last {
			return nil
		}
		last = s.queued
	}
	return fmt.Errorf("flood: the inspector was still busy %v after the flood", limit)
}
