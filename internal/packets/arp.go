package packets

import (
	"net"
	"net/netip"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// ARP operations.
const (
	ARPRequest = 1
	ARPReply   = 2
)

// ARPSpec is an ARP message for IPv4 over Ethernet, the only kind a
// gateway's links carry.
type ARPSpec struct {
	VLANs              []uint16 // outermost first, as in Spec
	Op                 uint16
	SenderIP, TargetIP netip.Addr // IPv4
}

// BuildARP serialises s into a frame (broadcast for a request).
func BuildARP(s ARPSpec) []byte {
	ls := link(Spec{VLANs: s.VLANs, Src: s.SenderIP, EtherType: layers.EthernetTypeARP})
	dst := net.HardwareAddr{0, 0, 0, 0, 0, 0}
	if s.Op == ARPRequest {
		ls[0].(*layers.Ethernet).DstMAC = net.HardwareAddr{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	} else {
		dst = dstMAC
	}
	ls = append(ls, &layers.ARP{
		AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, Operation: s.Op,
		SourceHwAddress: srcMAC, SourceProtAddress: s.SenderIP.AsSlice(),
		DstHwAddress: dst, DstProtAddress: s.TargetIP.AsSlice(),
	})
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true}, ls...); err != nil {
		panic("packets: " + err.Error()) // a test's spec is wrong
	}
	return buf.Bytes()
}
