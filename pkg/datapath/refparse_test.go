package datapath

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// The reference model's packet parser: bpf/lib/parse.h written again in Go
// from its description, read for read, so that the sequence fuzzer
// (seqfuzz_test.go) can predict every parse drop. Every bound is the
// frame's end, as the program's cursor has it, not the IP datagram's.

// Drop reasons (enum pal_drop_reason in bpf/abi.h), by number: the model
// must not depend on the generated Go names, which change with the C.
const (
	rNone uint32 = iota
	rL2Truncated
	rVLANDepth
	rL3Unsupported
	rIPv4Malformed
	rIPv4SourceRoute
	rIPv6Malformed
	rIPv6ExtHeader
	rFragment
	rL4Truncated
	rL4Unsupported
	rUnknownIngress
	rSpoofedSource
	rNoRule
	rSuspended
	rNoFlow
	rNoPolicy
	rFlowDenied
	rInternal
	rLinkControl
	rReversePath
	rFlowIngress
	rICMPErrorMismatch
	rICMPErrorSize
	rMax
)

var refReasonNames = [...]string{
	"none", "l2_truncated", "vlan_depth", "l3_unsupported", "ipv4_malformed", "ipv4_source_route",
	"ipv6_malformed", "ipv6_ext_header", "fragment", "l4_truncated", "l4_unsupported",
	"unknown_ingress", "spoofed_source", "no_rule", "suspended", "no_flow", "no_policy",
	"flow_denied", "internal", "link_control", "reverse_path", "flow_ingress",
	"icmp_error_mismatch", "icmp_error_size",
}

func reasonName(r uint32) string {
	if int(r) < len(refReasonNames) {
		return refReasonNames[r]
	}
	return "reason_" + strconv.Itoa(int(r))
}

func reasonByName(s string) uint32 {
	for i, n := range refReasonNames {
		if n == s {
			return uint32(i)
		}
	}
	return rInternal
}

// Fragment kinds (enum pal_frag_kind).
const (
	fragNone uint8 = iota
	fragFirst
	fragLater
)

// refPkt is struct pal_pkt as the model fills it.
type refPkt struct {
	src, dst    netip.Addr // IPv4 for ARP's sender and target
	fragID      uint32
	vlan, inner uint16
	sport       uint16
	dport       uint16
	ethProto    uint16
	family      uint8 // 4, 6, or 0 for ARP
	proto       uint8
	tcpFlags    uint8
	icmpType    uint8 // ARP: the operation
	frag        uint8
	fragProto   uint8
	ttl         uint8
	l3Off       int
	l4Off       int
	ipLen       uint32
}

func refBE16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }

// refParse parses a frame as parse_packet does: the packet, or the drop
// reason of the first layer that fails.
func refParse(b []byte) (refPkt, uint32) {
	var p refPkt
	pos, proto, r := refParseEth(b, &p)
	if r != rNone {
		return p, r
	}
	p.ethProto, p.l3Off = proto, pos
	switch proto {
	case 0x0806:
		return p, refParseARP(b, pos, &p)
	case 0x0800:
		pos, r = refParseIPv4(b, pos, &p)
	case 0x86dd:
		pos, r = refParseIPv6(b, pos, &p)
	default:
		return p, rL3Unsupported
	}
	if r != rNone {
		return p, r
	}
	return p, refParseL4(b, pos, &p)
}

func isVLANProto(p uint16) bool { return p == 0x8100 || p == 0x88a8 }

func refParseEth(b []byte, p *refPkt) (int, uint16, uint32) {
	if len(b) < 14 {
		return 0, 0, rL2Truncated
	}
	pos, proto := 14, refBE16(b[12:])
	for i := 0; i < 2 && isVLANProto(proto); i++ {
		if pos+4 > len(b) {
			return 0, 0, rL2Truncated
		}
		tci := refBE16(b[pos:]) & 0x0fff
		if i == 0 {
			p.vlan = tci
		} else {
			p.inner = tci
		}
		proto, pos = refBE16(b[pos+2:]), pos+4
	}
	if isVLANProto(proto) {
		return 0, 0, rVLANDepth
	}
	return pos, proto, rNone
}

func refParseARP(b []byte, pos int, p *refPkt) uint32 {
	if pos+28 > len(b) {
		return rLinkControl
	}
	a := b[pos:]
	op := refBE16(a[6:])
	if refBE16(a) != 1 || refBE16(a[2:]) != 0x0800 || a[4] != 6 || a[5] != 4 || (op != 1 && op != 2) {
		return rLinkControl
	}
	p.icmpType = uint8(op)
	p.src = netip.AddrFrom4([4]byte(a[14:18]))
	p.dst = netip.AddrFrom4([4]byte(a[24:28]))
	return rNone
}

func refParseIPv4(b []byte, pos int, p *refPkt) (int, uint32) {
	if pos+20 > len(b) {
		return 0, rIPv4Malformed
	}
	ip := b[pos:]
	hlen, tot := int(ip[0]&0x0f)*4, int(refBE16(ip[2:]))
	if ip[0]>>4 != 4 || hlen < 20 || tot < hlen || pos+tot > len(b) {
		return 0, rIPv4Malformed
	}
	if hlen > 20 {
		if r := refIPv4Options(b, pos+20, pos+hlen); r != rNone {
			return 0, r
		}
	}
	p.family, p.proto, p.fragProto, p.ttl, p.ipLen = 4, ip[9], ip[9], ip[8], uint32(tot)
	p.src = netip.AddrFrom4([4]byte(ip[12:16]))
	p.dst = netip.AddrFrom4([4]byte(ip[16:20]))
	off := refBE16(ip[6:])
	switch {
	case off&0x1fff != 0:
		if off&0x1fff < 2 {
			return 0, rFragment
		}
		p.frag = fragLater
	case off&0x2000 != 0:
		p.frag = fragFirst
	}
	p.fragID = uint32(refBE16(ip[4:]))
	return pos + hlen, rNone
}

// refIPv4Options is scan_ipv4_options: source routes refused, the rest
// skipped, at most ten options looked at.
func refIPv4Options(b []byte, o, end int) uint32 {
	for range 10 {
		if o >= end {
			return rNone
		}
		if o+1 > len(b) {
			return rIPv4Malformed
		}
		switch b[o] {
		case 0:
			return rNone
		case 1:
			o++
			continue
		}
		if o+2 > len(b) {
			return rIPv4Malformed
		}
		if b[o] == 131 || b[o] == 137 {
			return rIPv4SourceRoute
		}
		if b[o+1] < 2 || o+int(b[o+1]) > end {
			return rIPv4Malformed
		}
		o += int(b[o+1])
	}
	if o >= end {
		return rNone
	}
	return rIPv4Malformed
}

func isExtHeader(n uint8) bool { return n == 0 || n == 60 || n == 43 || n == 44 }

func refParseIPv6(b []byte, pos int, p *refPkt) (int, uint32) {
	if pos+40 > len(b) {
		return 0, rIPv6Malformed
	}
	ip := b[pos:]
	plen := int(refBE16(ip[4:]))
	if ip[0]>>4 != 6 || pos+40+plen > len(b) {
		return 0, rIPv6Malformed
	}
	p.family, p.ttl, p.ipLen = 6, ip[7], uint32(40+plen)
	p.src = netip.AddrFrom16([16]byte(ip[8:24]))
	p.dst = netip.AddrFrom16([16]byte(ip[24:40]))
	next, c := ip[6], pos+40
	for range 6 {
		var r uint32
		var done bool
		next, c, done, r = refIPv6Ext(b, next, c, p)
		if r != rNone {
			return 0, r
		}
		if done {
			break
		}
		if c > len(b) {
			return 0, rIPv6Malformed
		}
	}
	if p.frag != fragLater && isExtHeader(next) {
		return 0, rIPv6ExtHeader
	}
	p.proto = next
	return c, rNone
}

// refIPv6Ext walks one header of the chain: the next header, the new
// position, whether the walk ends here, or a drop reason.
func refIPv6Ext(b []byte, next uint8, c int, p *refPkt) (uint8, int, bool, uint32) {
	switch next {
	case 0, 60:
		if c+2 > len(b) {
			return 0, 0, true, rIPv6Malformed
		}
		return b[c], c + (int(b[c+1])+1)*8, false, rNone
	case 43:
		if c+4 > len(b) {
			return 0, 0, true, rIPv6Malformed
		}
		if b[c+3] != 0 {
			return 0, 0, true, rIPv6ExtHeader
		}
		return b[c], c + (int(b[c+1])+1)*8, false, rNone
	case 44:
		if c+8 > len(b) {
			return 0, 0, true, rIPv6Malformed
		}
		if p.frag != fragNone {
			return 0, 0, true, rIPv6ExtHeader
		}
		off := refBE16(b[c+2:])
		switch {
		case off>>3 != 0:
			if off>>3 < 2 {
				return 0, 0, true, rFragment
			}
			p.frag = fragLater
		case off&1 != 0:
			p.frag = fragFirst
		}
		p.fragID = binary.BigEndian.Uint32(b[c+4:])
		p.fragProto = b[c]
		return b[c], c + 8, p.frag == fragLater, rNone
	}
	return next, c, true, rNone
}

// refParseL4 is parse_l4: later fragments carry no transport header.
func refParseL4(b []byte, c int, p *refPkt) uint32 {
	if p.frag == fragLater {
		return rNone
	}
	p.l4Off = c
	switch {
	case p.proto == 6:
		if c+20 > len(b) || b[c+12]>>4 < 5 || c+int(b[c+12]>>4)*4 > len(b) {
			return rL4Truncated
		}
		p.sport, p.dport, p.tcpFlags = refBE16(b[c:]), refBE16(b[c+2:]), b[c+13]
	case p.proto == 17:
		if c+8 > len(b) || refBE16(b[c+4:]) < 8 {
			return rL4Truncated
		}
		p.sport, p.dport = refBE16(b[c:]), refBE16(b[c+2:])
	case (p.proto == 1 && p.family == 4) || (p.proto == 58 && p.family == 6):
		if c+8 > len(b) {
			return rL4Truncated
		}
		p.icmpType = b[c]
		p.sport = refBE16(b[c+4:])
		p.dport = p.sport
	default:
		return rL4Unsupported
	}
	return rNone
}

// refQuote is icmp_quoted_flow's reading of the packet an ICMP error
// quotes, at the error's own transport offset + 8: ok false when it
// cannot be read.
func refQuote(b []byte, p *refPkt) (q refPkt, ok bool) {
	if p.l4Off > 0x3fff {
		return q, false
	}
	in := p.l4Off + 8
	q.family = p.family
	var l4 int
	if p.family == 4 {
		if in+20 > len(b) || b[in]>>4 != 4 || b[in]&0x0f < 5 {
			return q, false
		}
		q.proto = b[in+9]
		q.src = netip.AddrFrom4([4]byte(b[in+12 : in+16]))
		q.dst = netip.AddrFrom4([4]byte(b[in+16 : in+20]))
		l4 = in + int(b[in]&0x0f)*4
	} else {
		if in+40 > len(b) || b[in]>>4 != 6 {
			return q, false
		}
		q.proto = b[in+6]
		q.src = netip.AddrFrom16([16]byte(b[in+8 : in+24]))
		q.dst = netip.AddrFrom16([16]byte(b[in+24 : in+40]))
		l4 = in + 40
	}
	if l4+4 > len(b) {
		return q, false
	}
	switch q.proto {
	case 6, 17:
		q.sport, q.dport = refBE16(b[l4:]), refBE16(b[l4+2:])
	case 1, 58:
		if l4+8 > len(b) {
			return q, false
		}
		q.sport = refBE16(b[l4+4:])
		q.dport = q.sport
	default:
		return q, false
	}
	return q, true
}
