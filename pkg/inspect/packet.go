package inspect

import (
	"encoding/binary"
	"net/netip"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// packet is what the inspector reads of a queued IP packet.
type packet struct {
	src, dst     netip.Addr
	sport, dport uint16
	proto        uint8
	fragment     bool
	syn, ack     bool
	urg          bool // urgent data: servers drop the byte the pointer names
	seq, ackNum  uint32
	payload      []byte
}

// decoder is one consumer's reusable gopacket parser (not goroutine-safe).
type decoder struct {
	ip4     layers.IPv4
	ip6     layers.IPv6
	tcp     layers.TCP
	udp     layers.UDP
	payload gopacket.Payload
	p4, p6  *gopacket.DecodingLayerParser
	found   []gopacket.LayerType
}

func newDecoder() *decoder {
	d := &decoder{}
	d.p4 = gopacket.NewDecodingLayerParser(layers.LayerTypeIPv4, &d.ip4, &d.tcp, &d.udp, &d.payload)
	d.p6 = gopacket.NewDecodingLayerParser(layers.LayerTypeIPv6, &d.ip6, &d.tcp, &d.udp, &d.payload)
	for _, p := range []*gopacket.DecodingLayerParser{d.p4, d.p6} {
		p.IgnoreUnsupported = true
	}
	return d
}

// decode reads an IP packet as netfilter hands it over (no link layer).
func (d *decoder) decode(b []byte) (packet, bool) {
	var pk packet
	if len(b) == 0 {
		return pk, false
	}
	parser := d.p4
	if b[0]>>4 == 6 {
		parser = d.p6
	}
	d.found = d.found[:0]
	if err := parser.DecodeLayers(b, &d.found); err != nil && len(d.found) == 0 {
		return pk, false
	}
	for _, lt := range d.found {
		switch lt {
		case layers.LayerTypeIPv4:
			pk.src, _ = netip.AddrFromSlice(d.ip4.SrcIP.To4())
			pk.dst, _ = netip.AddrFromSlice(d.ip4.DstIP.To4())
			pk.proto = uint8(d.ip4.Protocol)
			pk.fragment = d.ip4.Flags&layers.IPv4MoreFragments != 0 || d.ip4.FragOffset != 0
		case layers.LayerTypeIPv6:
			pk.src, _ = netip.AddrFromSlice(d.ip6.SrcIP)
			pk.dst, _ = netip.AddrFromSlice(d.ip6.DstIP)
			pk.proto = uint8(d.ip6.NextHeader)
			// Any extension header stops the parser short of TCP/UDP; a
			// fragment header is the one the datapath lets through.
			pk.fragment = d.ip6.NextHeader == layers.IPProtocolIPv6Fragment
		case layers.LayerTypeTCP:
			pk.sport, pk.dport, pk.seq, pk.ackNum = uint16(d.tcp.SrcPort), uint16(d.tcp.DstPort), d.tcp.Seq, d.tcp.Ack
			pk.syn, pk.ack, pk.payload = d.tcp.SYN, d.tcp.ACK, d.tcp.Payload
			pk.urg = d.tcp.URG // without the flag, receivers ignore the pointer
		case layers.LayerTypeUDP:
			pk.sport, pk.dport, pk.payload = uint16(d.udp.SrcPort), uint16(d.udp.DstPort), d.udp.Payload
		}
	}
	if pk.fragment {
		d.firstFragmentPorts(&pk)
	}
	return pk, pk.src.IsValid() && pk.dst.IsValid()
}

// firstFragmentPorts reads the ports of a first fragment, which gopacket
// leaves undecoded: they tie it to its flow, so the flow is refused (a
// name in fragments is not read) rather than the fragment dropped alone.
func (d *decoder) firstFragmentPorts(pk *packet) {
	var l4 []byte
	switch {
	case pk.src.Is4() && d.ip4.FragOffset == 0:
		l4 = d.ip4.Payload
	case pk.src.Is6() && len(d.ip6.Payload) >= 8 && binary.BigEndian.Uint16(d.ip6.Payload[2:4])>>3 == 0:
		pk.proto, l4 = d.ip6.Payload[0], d.ip6.Payload[8:]
	}
	if len(l4) >= 4 && (pk.proto == 6 || pk.proto == 17) {
		pk.sport, pk.dport = binary.BigEndian.Uint16(l4), binary.BigEndian.Uint16(l4[2:])
	}
}
