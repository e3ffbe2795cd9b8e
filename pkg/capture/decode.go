package capture

import (
	"net/netip"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// fields are what a filter looks at.
type fields struct {
	src, dst     netip.Addr
	proto        uint8
	ports        bool
	sport, dport uint16
}

// decode reads addresses, protocol and ports from a frame, which may be cut
// short by the snap length: whatever could be read is enough.
func decode(frame []byte) (*fields, bool) {
	pkt := gopacket.NewPacket(frame, layers.LayerTypeEthernet, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
	f := &fields{}
	switch ip := pkt.NetworkLayer().(type) {
	case *layers.IPv4:
		f.src, _ = netip.AddrFromSlice(ip.SrcIP.To4())
		f.dst, _ = netip.AddrFromSlice(ip.DstIP.To4())
		f.proto = uint8(ip.Protocol)
	case *layers.IPv6:
		f.src, _ = netip.AddrFromSlice(ip.SrcIP)
		f.dst, _ = netip.AddrFromSlice(ip.DstIP)
		f.proto = uint8(ip.NextHeader)
	default:
		return nil, false
	}
	if !f.src.IsValid() || !f.dst.IsValid() {
		// gopacket keeps a network layer it could not read (a frame cut
		// inside the IP header): there are no addresses to filter on.
		return nil, false
	}
	switch l4 := pkt.TransportLayer().(type) {
	case *layers.TCP:
		f.proto, f.ports, f.sport, f.dport = 6, true, uint16(l4.SrcPort), uint16(l4.DstPort)
	case *layers.UDP:
		f.proto, f.ports, f.sport, f.dport = 17, true, uint16(l4.SrcPort), uint16(l4.DstPort)
	}
	if pkt.Layer(layers.LayerTypeICMPv6) != nil {
		f.proto = 58
	}
	return f, true
}
