package e2e

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"net"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Frames an attacker on a lab link would send, whole and correct down to
// their checksums (hosts and the gateway's stack drop anything less), so
// that the boundary alone decides whether they get through.

// wire is the Ethernet addressing of a frame on one host's link to the
// gateway: from the host's MAC to the gateway end's. prio adds a priority
// tag (802.1Q, VLAN ID 0).
type wire struct {
	src, dst net.HardwareAddr
	prio     bool
}

// frame serialises ls behind w's Ethernet header, with lengths and
// checksums filled in.
func (w wire) frame(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	next := layers.EthernetTypeIPv4
	if _, v6 := ls[0].(*layers.IPv6); v6 {
		next = layers.EthernetTypeIPv6
	}
	eth := &layers.Ethernet{SrcMAC: w.src, DstMAC: w.dst, EthernetType: next}
	head := []gopacket.SerializableLayer{eth}
	if w.prio {
		eth.EthernetType = layers.EthernetTypeDot1Q
		head = append(head, &layers.Dot1Q{Priority: 3, VLANIdentifier: 0, Type: next})
	}
	return serialise(t, append(head, ls...)...)
}

func serialise(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatalf("build frame: %v", err)
	}
	return buf.Bytes()
}

// ipLayer is an IPv4 or IPv6 header, which transport checksums cover.
type ipLayer interface {
	gopacket.SerializableLayer
	gopacket.NetworkLayer
}

// ipHeader is an IPv4 or IPv6 header from src to dst carrying proto, with
// TTL or hop limit 64; the caller may change it before serialising.
func ipHeader(src, dst netip.Addr, proto layers.IPProtocol) ipLayer {
	if src.Is4() {
		return &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: 0x4242, Protocol: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	}
	return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: proto, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
}

func icmpProto(a netip.Addr) layers.IPProtocol {
	if a.Is4() {
		return layers.IPProtocolICMPv4
	}
	return layers.IPProtocolICMPv6
}

// udpLayers are the IP and UDP headers and payload of a datagram.
func udpLayers(src, dst netip.AddrPort, payload []byte) []gopacket.SerializableLayer {
	ip := ipHeader(src.Addr(), dst.Addr(), layers.IPProtocolUDP)
	u := &layers.UDP{SrcPort: layers.UDPPort(src.Port()), DstPort: layers.UDPPort(dst.Port())}
	u.SetNetworkLayerForChecksum(ip)
	return []gopacket.SerializableLayer{ip, u, gopacket.Payload(payload)}
}

func (w wire) udp(t *testing.T, src, dst netip.AddrPort, payload []byte) []byte {
	return w.frame(t, udpLayers(src, dst, payload)...)
}

// tcp is one segment with the given flags (SYN, ACK, PSH) and payload.
func (w wire) tcp(t *testing.T, src, dst netip.AddrPort, syn, ack bool, payload []byte) []byte {
	ip := ipHeader(src.Addr(), dst.Addr(), layers.IPProtocolTCP)
	seg := &layers.TCP{SrcPort: layers.TCPPort(src.Port()), DstPort: layers.TCPPort(dst.Port()),
		Seq: 1000, Ack: 1, SYN: syn, ACK: ack, PSH: len(payload) > 0, Window: 1024}
	seg.SetNetworkLayerForChecksum(ip)
	return w.frame(t, ip, seg, gopacket.Payload(payload))
}

// echo is an ICMP or ICMPv6 echo request.
func (w wire) echo(t *testing.T, src, dst netip.Addr, payload []byte) []byte {
	ip := ipHeader(src, dst, icmpProto(src))
	id := uint16(len(payload)) ^ 0x5a5a
	if src.Is4() {
		return w.frame(t, ip,
			&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: id, Seq: 1},
			gopacket.Payload(payload))
	}
	m := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeEchoRequest, 0)}
	m.SetNetworkLayerForChecksum(ip)
	return w.frame(t, ip, m, &layers.ICMPv6Echo{Identifier: id, SeqNumber: 1}, gopacket.Payload(payload))
}

// solicit is an IPv6 neighbour solicitation for target, with the sender's
// link-layer address and then payload, which no real one carries.
func (w wire) solicit(t *testing.T, src, dst, target netip.Addr, hops uint8, payload []byte) []byte {
	ip := ipHeader(src, dst, layers.IPProtocolICMPv6).(*layers.IPv6)
	ip.HopLimit = hops
	m := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeNeighborSolicitation, 0)}
	m.SetNetworkLayerForChecksum(ip)
	ns := &layers.ICMPv6NeighborSolicitation{TargetAddress: target.AsSlice(), Options: layers.ICMPv6Options{
		{Type: layers.ICMPv6OptSourceAddress, Data: w.src}}}
	return w.frame(t, ip, m, ns, gopacket.Payload(payload))
}

// icmpError is an ICMP (v4: destination unreachable, 3) or ICMPv6 error
// of type typ quoting quote; word is the field after the checksum (the
// next-hop MTU of "fragmentation needed", the MTU of "packet too big").
func (w wire) icmpError(t *testing.T, src, dst netip.Addr, typ, code uint8, word uint32, quote []byte) []byte {
	ip := ipHeader(src, dst, icmpProto(src))
	body := binary.BigEndian.AppendUint32(nil, word)
	if src.Is4() {
		m := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, code), Id: uint16(word >> 16), Seq: uint16(word)}
		return w.frame(t, ip, m, gopacket.Payload(quote))
	}
	m := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, code)}
	m.SetNetworkLayerForChecksum(ip)
	return w.frame(t, ip, m, gopacket.Payload(append(body, quote...)))
}

// quoteUDP is the packet an ICMP error quotes: a datagram src -> dst,
// IP header onwards, with payload after the UDP header.
func quoteUDP(t *testing.T, src, dst netip.AddrPort, payload []byte) []byte {
	return serialise(t, udpLayers(src, dst, payload)...)
}

// udpDatagram is the UDP header and payload of a datagram, checksummed
// for src -> dst, for the test to cut into fragments itself.
func udpDatagram(t *testing.T, src, dst netip.AddrPort, payload []byte) []byte {
	b := serialise(t, udpLayers(src, dst, payload)...)
	if src.Addr().Is4() {
		return b[20:]
	}
	return b[40:]
}

// fragment is the piece of a datagram (of protocol proto, id id) at byte
// offset off (a multiple of 8), with more saying whether others follow.
func (w wire) fragment(t *testing.T, src, dst netip.Addr, proto layers.IPProtocol, id uint32, off int, more bool, data []byte) []byte {
	if src.Is4() {
		ip := ipHeader(src, dst, proto).(*layers.IPv4)
		ip.Id, ip.FragOffset = uint16(id), uint16(off/8)
		if more {
			ip.Flags = layers.IPv4MoreFragments
		}
		return w.frame(t, ip, gopacket.Payload(data))
	}
	ip := ipHeader(src, dst, layers.IPProtocolIPv6Fragment)
	fh := binary.BigEndian.AppendUint16([]byte{byte(proto), 0}, uint16(off))
	if more {
		fh[3] |= 1
	}
	fh = binary.BigEndian.AppendUint32(fh, id)
	return w.frame(t, ip, gopacket.Payload(append(fh, data...)))
}

// marker is a string no other frame of the run carries, to find one
// frame's payload wherever it arrives.
func marker(what string) []byte {
	b := make([]byte, 6)
	rand.Read(b)
	return []byte("palisade-sidedoor " + what + " " + hex.EncodeToString(b))
}
