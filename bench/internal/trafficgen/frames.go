package trafficgen

import (
	"fmt"
	"net"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/palisade-psn/palisade/bench/internal/synth"
)

// genMAC is the generator's source address; no one ever replies to it.
var genMAC = net.HardwareAddr{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}

// Frame builds t as an IPv4 frame of FrameLen bytes addressed to dst, with
// valid checksums: the kernel stack drops an IPv4 packet with a bad header
// checksum before any firewall sees it, which would flatter the stack
// engines. TCP frames are SYNs: each one would open a flow if allowed.
func Frame(t synth.Tuple, dst net.HardwareAddr) ([]byte, error) {
	if !t.Src.Is4() || !t.Dst.Is4() {
		return nil, fmt.Errorf("frame %v -> %v: the generator sends IPv4 only", t.Src, t.Dst)
	}
	eth := &layers.Ethernet{SrcMAC: genMAC, DstMAC: dst, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocol(t.Proto),
		SrcIP: t.Src.AsSlice(), DstIP: t.Dst.AsSlice()}
	var l4 gopacket.SerializableLayer
	hdr := 14 + 20
	switch ip.Protocol {
	case layers.IPProtocolTCP:
		tcp := &layers.TCP{SrcPort: layers.TCPPort(t.SPort), DstPort: layers.TCPPort(t.DPort), SYN: true, Window: 1024, Seq: 1}
		_ = tcp.SetNetworkLayerForChecksum(ip)
		l4, hdr = tcp, hdr+20
	case layers.IPProtocolUDP:
		udp := &layers.UDP{SrcPort: layers.UDPPort(t.SPort), DstPort: layers.UDPPort(t.DPort)}
		_ = udp.SetNetworkLayerForChecksum(ip)
		l4, hdr = udp, hdr+8
	default:
		return nil, fmt.Errorf("frame: protocol %d not generated", t.Proto)
	}
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, ip, l4, gopacket.Payload(make([]byte, FrameLen-hdr))); err != nil {
		return nil, fmt.Errorf("frame %v -> %v: %w", t.Src, t.Dst, err)
	}
	return buf.Bytes(), nil
}
