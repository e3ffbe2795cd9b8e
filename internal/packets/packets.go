// Package packets builds Ethernet frames for tests of the datapath with
// gopacket: the well-formed ones a real host sends, and the truncated,
// malformed and evasive ones an attacker would.
package packets

import (
	"net"
	"net/netip"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// TCP flag sets.
const (
	FIN = 1 << iota
	SYN
	RST
	PSH
	ACK
)

// Ext is a raw IPv6 extension header: its type and body after the two
// first bytes (next header, length), padded by Build to 8-byte units.
type Ext struct {
	Type layers.IPProtocol
	Body []byte
}

// Frag describes an IP fragment.
type Frag struct {
	ID     uint32
	Offset uint16 // in 8-byte units
	More   bool
}

// Spec is one frame to build.
type Spec struct {
	VLANs     []uint16 // outermost first; two tags make an 802.1ad frame
	Src, Dst  netip.Addr
	Proto     layers.IPProtocol // TCP, UDP, ICMPv4 or ICMPv6; others are raw
	SPort     uint16
	DPort     uint16
	Flags     uint8 // TCP flags
	ICMPType  uint8 // echo request when 0 and Proto is ICMP
	EchoReply bool  // an ICMP echo reply
	ICMPID    uint16
	IPv4Opts  []layers.IPv4Option
	IPv6Ext   []Ext
	Frag      *Frag
	Payload   []byte
	EtherType layers.EthernetType // overrides the IP ethertype when set
	TTL       uint8               // IPv4 TTL or IPv6 hop limit; 64 when 0
}

func (s Spec) ttl() uint8 {
	if s.TTL == 0 {
		return 64
	}
	return s.TTL
}

var (
	srcMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 1}
	dstMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 2}
)

// Build serialises s into a frame.
func Build(s Spec) []byte {
	l4 := transport(s)
	var ls []gopacket.SerializableLayer
	ls = append(ls, link(s)...)
	if s.Src.Is4() {
		ls = append(ls, ipv4(s, l4))
	} else {
		ls = append(ls, ipv6(s)...)
	}
	if s.Frag == nil || s.Frag.Offset == 0 {
		ls = append(ls, l4...)
	}
	ls = append(ls, gopacket.Payload(s.Payload))
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true}
	if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
		panic("packets: " + err.Error()) // a test's spec is wrong
	}
	return buf.Bytes()
}

func link(s Spec) []gopacket.SerializableLayer {
	inner := layers.EthernetTypeIPv4
	if s.Src.Is6() {
		inner = layers.EthernetTypeIPv6
	}
	if s.EtherType != 0 {
		inner = s.EtherType
	}
	eth := &layers.Ethernet{SrcMAC: srcMAC, DstMAC: dstMAC, EthernetType: inner}
	out := []gopacket.SerializableLayer{eth}
	for i, vid := range s.VLANs {
		tag := &layers.Dot1Q{VLANIdentifier: vid, Type: inner}
		if i == 0 {
			eth.EthernetType = layers.EthernetTypeDot1Q
			if len(s.VLANs) > 1 {
				eth.EthernetType = layers.EthernetTypeQinQ
			}
		}
		if i+1 < len(s.VLANs) {
			tag.Type = layers.EthernetTypeDot1Q
		}
		out = append(out, tag)
	}
	return out
}

func ipv4(s Spec, l4 []gopacket.SerializableLayer) gopacket.SerializableLayer {
	ip := &layers.IPv4{
		Version: 4, IHL: 5, TTL: s.ttl(), Protocol: s.Proto, Id: 0x1234,
		SrcIP: s.Src.AsSlice(), DstIP: s.Dst.AsSlice(),
	}
	ip.Options = s.IPv4Opts
	if f := s.Frag; f != nil {
		ip.Id = uint16(f.ID)
		ip.FragOffset = f.Offset
		if f.More {
			ip.Flags = layers.IPv4MoreFragments
		}
	}
	return ip
}

func ipv6(s Spec) []gopacket.SerializableLayer {
	next := s.Proto
	if len(s.IPv6Ext) > 0 {
		next = s.IPv6Ext[0].Type
	}
	if s.Frag != nil && len(s.IPv6Ext) == 0 {
		next = layers.IPProtocolIPv6Fragment
	}
	out := []gopacket.SerializableLayer{&layers.IPv6{
		Version: 6, HopLimit: s.ttl(), NextHeader: next,
		SrcIP: s.Src.AsSlice(), DstIP: s.Dst.AsSlice(),
	}}
	for i, e := range s.IPv6Ext {
		nh := s.Proto
		if i+1 < len(s.IPv6Ext) {
			nh = s.IPv6Ext[i+1].Type
		} else if s.Frag != nil {
			nh = layers.IPProtocolIPv6Fragment
		}
		out = append(out, gopacket.Payload(extBytes(e, nh)))
	}
	if f := s.Frag; f != nil {
		h := []byte{byte(s.Proto), 0, byte(f.Offset >> 5), byte(f.Offset << 3), byte(f.ID >> 24), byte(f.ID >> 16), byte(f.ID >> 8), byte(f.ID)}
		if f.More {
			h[3] |= 1
		}
		out = append(out, gopacket.Payload(h))
	}
	return out
}

func extBytes(e Ext, next layers.IPProtocol) []byte {
	b := append([]byte{byte(next), 0}, e.Body...)
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	b[1] = byte(len(b)/8 - 1)
	return b
}

func transport(s Spec) []gopacket.SerializableLayer {
	switch s.Proto {
	case layers.IPProtocolTCP:
		return []gopacket.SerializableLayer{&layers.TCP{
			SrcPort: layers.TCPPort(s.SPort), DstPort: layers.TCPPort(s.DPort), Window: 1024, Seq: 1,
			FIN: s.Flags&FIN != 0, SYN: s.Flags&SYN != 0, RST: s.Flags&RST != 0,
			PSH: s.Flags&PSH != 0, ACK: s.Flags&ACK != 0,
		}}
	case layers.IPProtocolUDP:
		return []gopacket.SerializableLayer{&layers.UDP{SrcPort: layers.UDPPort(s.SPort), DstPort: layers.UDPPort(s.DPort)}}
	case layers.IPProtocolICMPv4:
		t := s.ICMPType
		if t == 0 {
			t = layers.ICMPv4TypeEchoRequest
		}
		if s.EchoReply {
			t = layers.ICMPv4TypeEchoReply
		}
		return []gopacket.SerializableLayer{&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(t, 0), Id: s.ICMPID, Seq: 1}}
	case layers.IPProtocolICMPv6:
		t := s.ICMPType
		if t == 0 {
			t = layers.ICMPv6TypeEchoRequest
		}
		if s.EchoReply {
			t = layers.ICMPv6TypeEchoReply
		}
		return []gopacket.SerializableLayer{
			&layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(t, 0)},
			&layers.ICMPv6Echo{Identifier: s.ICMPID, SeqNumber: 1},
		}
	}
	return nil
}
