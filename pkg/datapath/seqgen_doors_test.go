package datapath

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/google/gopacket/layers"
	"github.com/palisade-psn/palisade/internal/packets"
)

// The generator's exception paths: fragments, ICMP errors, neighbour
// discovery, MLD and ARP, and frames cut or bent.

// fragments sends a conversation's packet as a first fragment and later
// ones: from the same ingress and source, or not; IPv6 ones sometimes
// with destination options after the fragment header.
func (g *seqGen) fragments() {
	c := g.conv()
	reverse := g.chance(0.2)
	in, flags := c.in, uint8(packets.SYN)
	if reverse {
		in, flags = homeOf(c.dst), packets.SYN|packets.ACK
	}
	s := c.spec(reverse, flags, reverse)
	id := g.nextID()
	if c.src.Is4() {
		id &= 0xffff
	}
	opts := c.v6() && g.chance(0.3)
	what := fmt.Sprintf("%s reverse=%v id %#x dstopts-after-frag=%v", c, reverse, id, opts)
	if !g.chance(0.1) {
		g.emit(in, fragFrame(s, in, id, 0, true, opts), "first fragment of "+what+" from "+in.String())
	}
	n := 1 + g.pick(3)
	for i := range n {
		lin, ls, lid, lopts, off, how := in, s, id, opts, uint16(2+g.pick(180)), "same ingress"
		switch g.pick(14) {
		case 0:
			lin, how = genIngresses[g.pick(len(genIngresses))], "ingress drawn"
		case 1:
			ls.Src, how = g.addrLike(s.Src), "source changed"
		case 2:
			lid, how = lid+1, "id changed"
		case 3:
			off, how = 1, "offset 1"
		case 4:
			lopts, how = c.v6() && !lopts, "dstopts flipped"
		case 5:
			ls.Proto, how = layers.IPProtocolUDP, "protocol changed"
			if s.Proto == layers.IPProtocolUDP {
				ls.Proto = layers.IPProtocolTCP
			}
		}
		g.emit(lin, fragFrame(ls, lin, lid, off, i < n-1, lopts),
			fmt.Sprintf("later fragment (offset %d, %s) of %s from %s", off, how, what, lin))
	}
}

// fragFrame is s as the fragment at offset off (8-byte units).
func fragFrame(s packets.Spec, in genIngress, id uint32, off uint16, more, dstOptsAfter bool) []byte {
	if dstOptsAfter && s.Src.Is6() {
		return frag6DestOpts(s, in, id, off, more)
	}
	s.Frag = &packets.Frag{ID: id, Offset: off, More: more}
	if off > 0 {
		s.Payload = make([]byte, 16)
	}
	return buildOn(s, in, 0)
}

// frag6DestOpts builds an IPv6 fragment whose fragment header is followed
// (in the first fragment) by destination options: the chain packets.Build
// does not make. Every fragment's header names destination options next.
func frag6DestOpts(s packets.Spec, in genIngress, id uint32, off uint16, more bool) []byte {
	s.VLANs, s.Frag, s.IPv6Ext = in.tags, nil, nil
	plain := packets.Build(s)
	l3 := 14 + 4*len(in.tags)
	ip := append([]byte{}, plain[l3:l3+40]...)
	fh := []byte{60, 0, byte(off >> 5), byte(off << 3), 0, 0, 0, 0}
	binary.BigEndian.PutUint32(fh[4:], id)
	if more {
		fh[3] |= 1
	}
	rest := fh
	if off == 0 {
		plen := int(binary.BigEndian.Uint16(ip[4:]))
		rest = append(rest, byte(s.Proto), 0, 1, 4, 0, 0, 0, 0)
		rest = append(rest, plain[l3+40:l3+40+plen]...)
	} else {
		rest = append(rest, make([]byte, 16)...)
	}
	ip[6] = 44
	binary.BigEndian.PutUint16(ip[4:], uint16(len(rest)))
	out := append(append([]byte{}, plain[:l3]...), ip...)
	return append(out, rest...)
}

// icmpError sends an error quoting a conversation's packet: back to its
// sender from where it went (both directions), or from elsewhere, to
// someone else, too long, with a cut or strange quote.
func (g *seqGen) icmpError() {
	c := g.conv()
	var quoted packets.Spec
	var src, dst netip.Addr
	var in genIngress
	if g.chance(0.6) { // to the originator, from the responder's side
		quoted, in, dst = c.spec(false, packets.SYN, false), homeOf(c.dst), c.src
		src = c.dst
		if r, ok := genRouters[in.iface]; ok && g.chance(0.5) {
			src = netip.MustParseAddr(r[1])
			if c.dst.Is4() {
				src = netip.MustParseAddr(r[0])
			}
		}
	} else { // to the responder, from the originator's side
		quoted, in, dst, src = c.spec(true, packets.SYN|packets.ACK, true), c.in, c.dst, c.src
		if c.org != nil && g.chance(0.3) {
			if h := netip.MustParseAddr(c.org.hosts[g.pick(len(c.org.hosts))]); h.Is4() == c.src.Is4() {
				src = h
			}
		}
	}
	how := "as sent"
	var outerExt, outerFrag bool
	qcut, pad := -1, 0
	switch g.pick(30) {
	case 0, 1, 2:
		in, how = genIngresses[g.pick(len(genIngresses))], "ingress drawn"
	case 3, 4:
		dst, how = g.addrLike(dst), "to someone else"
	case 5:
		src, how = g.addrLike(src), "source drawn"
	case 6:
		quoted.SPort, quoted.ICMPID, how = quoted.SPort+1, quoted.ICMPID+1, "quoting another flow"
	case 7, 8:
		pad, how = 1+g.pick(200), "too long"
	case 9:
		pad, how = -1, "as long as allowed"
	case 10:
		qcut, how = g.pick(48), "quote cut"
	case 11:
		quoted.IPv4Opts, how = []layers.IPv4Option{nop, timestamp}, "quote with ipv4 options"
	case 12:
		outerExt, how = true, "outer options"
	case 13:
		outerFrag, how = true, "outer first fragment"
	}
	s := g.errorSpec(src, dst, quoted, qcut, pad)
	if outerExt {
		if src.Is4() {
			s.IPv4Opts = []layers.IPv4Option{timestamp}
		} else {
			s.IPv6Ext = []packets.Ext{hopByHop}
		}
	}
	if outerFrag {
		s.Frag = &packets.Frag{ID: g.nextID() & 0xffff, More: true}
	}
	sp, dp := quoted.SPort, quoted.DPort
	if quoted.Proto == layers.IPProtocolICMPv4 || quoted.Proto == layers.IPProtocolICMPv6 {
		sp, dp = quoted.ICMPID, quoted.ICMPID
	}
	g.emit(in, buildOn(s, in, 0), fmt.Sprintf("icmp error type %d %s > %s quoting %s %s:%d > %s:%d (%s) from %s",
		s.ICMPType, src, dst, quoted.Proto, quoted.Src, sp, quoted.Dst, dp, how, in))
}

// errorSpec is an ICMP error from src to dst quoting the IP header and 8
// transport bytes of q (cut to qcut bytes when qcut >= 0), padded by pad
// bytes past the size limit (-1: to it exactly).
func (g *seqGen) errorSpec(src, dst netip.Addr, q packets.Spec, qcut, pad int) packets.Spec {
	frame := packets.Build(q)
	ihl, proto, limit := 40, layers.IPProtocolICMPv6, 1280
	types := []uint8{1, 2, 3, 4, 2, 1, 137, 128}
	if q.Src.Is4() {
		ihl, proto, limit = int(frame[14]&0x0f)*4, layers.IPProtocolICMPv4, 576
		types = []uint8{3, 3, 11, 12, 3, 4, 5, 0}
	}
	quote := append([]byte{}, frame[14:14+ihl+8]...)
	if qcut >= 0 && qcut < len(quote) {
		quote = quote[:qcut]
	}
	hdr := 20 + 8
	if src.Is6() {
		hdr = 40 + 8
	}
	switch {
	case pad > 0:
		quote = append(quote, make([]byte, limit-hdr-len(quote)+pad)...)
	case pad < 0:
		quote = append(quote, make([]byte, limit-hdr-len(quote))...)
	}
	t := types[g.pick(6)]
	if g.chance(0.04) {
		t = types[6+g.pick(2)] // an ICMP message that is not an error
	}
	return packets.Spec{Src: src, Dst: dst, Proto: proto, ICMPType: t, Payload: quote}
}

// Neighbour discovery: destinations on the link, of the gateway, behind
// it, unroutable.
var ndDsts = []string{"fe80::1", "ff02::1", "ff02::1:ff00:10", "ff01::1", "ff12::1", "ff05::2", "ff0e::1",
	"2001:db8:1::1", "2001:db8:1::", "2001:db8:10::", "2001:db8:30::", "2001:db8:7::", "2001:db8:7::1", "2001:db8:10::5", "2001:db8:3::10", "2001:db8:1::10",
	"2001:db8:66::1", "2001:db8:67::1", "2001:db8:68::1", "2001:db8:99::1", "::1", "2001:db8:2::10"}

func (g *seqGen) nd() {
	typ := uint8(133 + g.pick(5))
	src := pickStr(g, []string{"fe80::2", "::", "2001:db8:1::10", "2001:db8:10::5", "2001:db8:3::10"})
	dst := pickStr(g, ndDsts)
	hop := uint8(255)
	if g.chance(0.3) {
		hop = []uint8{64, 254, 1, 0}[g.pick(4)]
	}
	g.linkICMPv6(typ, src, dst, hop, "nd")
}

func (g *seqGen) mld() {
	typ := []uint8{130, 131, 132, 143}[g.pick(4)]
	src := pickStr(g, []string{"fe80::2", "::", "2001:db8:1::10"})
	dst := pickStr(g, []string{"ff02::16", "ff02::1", "ff05::1", "ff0e::1", "2001:db8:10::5", "fe80::1"})
	hop := uint8(1)
	if g.chance(0.3) {
		hop = []uint8{255, 64, 2, 0}[g.pick(4)]
	}
	g.linkICMPv6(typ, src, dst, hop, "mld")
}

func (g *seqGen) linkICMPv6(typ uint8, src, dst netip.Addr, hop uint8, what string) {
	in := genIngresses[g.pick(len(genIngresses))]
	s := packets.Spec{Src: src, Dst: dst, Proto: layers.IPProtocolICMPv6, ICMPType: typ, Payload: make([]byte, 16)}
	how := ""
	switch g.pick(20) {
	case 0:
		s.IPv6Ext, how = []packets.Ext{hopByHop}, " after hop-by-hop options"
	case 1:
		s.Frag, how = &packets.Frag{ID: g.nextID(), More: true}, " as a first fragment"
	}
	b := buildOn(s, in, 0)
	setTTL(b, hop)
	g.emit(in, b, fmt.Sprintf("%s type %d %s > %s hop limit %d%s from %s", what, typ, src, dst, hop, how, in))
}

// arp asks for (or announces) addresses of the gateway, of hosts on the
// link or behind it, and unroutable ones; a few are not ARP for IPv4.
func (g *seqGen) arp() {
	in := genIngresses[g.pick(len(genIngresses))]
	var target netip.Addr
	for !target.Is4() {
		target = g.addrLike(netip.MustParseAddr("198.18.1.10"))
	}
	sender := g.addrLike(target)
	op := uint16(1 + g.pick(2))
	if g.chance(0.05) {
		op = []uint16{0, 3, 0x0101}[g.pick(3)]
	}
	b := packets.BuildARP(packets.ARPSpec{VLANs: in.tags, Op: op, SenderIP: sender, TargetIP: target})
	l3 := 14 + 4*len(in.tags)
	how := ""
	switch g.pick(20) {
	case 0:
		b[l3+1], how = 6, " htype 6"
	case 1:
		b[l3+2], b[l3+3], how = 0x86, 0xdd, " ptype ipv6"
	case 2:
		b[l3+4], how = 8, " hlen 8"
	case 3:
		b[l3+5], how = 16, " plen 16"
	case 4:
		b, how = b[:l3+20+g.pick(8)], " cut"
	}
	g.emit(in, b, fmt.Sprintf("arp op %d %s asks for %s%s from %s", op, sender, target, how, in))
}

// garbage sends frames hardly anything like a packet.
func (g *seqGen) garbage() {
	in := genIngresses[g.pick(len(genIngresses))]
	switch g.pick(4) {
	case 0:
		b := make([]byte, 14+g.pick(110))
		for i := range b {
			b[i] = byte(g.rng.UintN(256))
		}
		types := []uint16{0x0800, 0x86dd, 0x0806, 0x8100, 0x88a8, 0x88cc, uint16(g.rng.UintN(65536))}
		binary.BigEndian.PutUint16(b[12:], types[g.pick(len(types))])
		g.emit(in, b, "random bytes")
	case 1:
		b := packets.Build(vlan(tcp(netip.MustParseAddr("198.18.1.10"), netip.MustParseAddr("198.19.10.5"), 1, 443, packets.SYN), 100))
		g.emit(in, b[:14+g.pick(4)], "a vlan tag cut")
	case 2:
		b := packets.Build(vlan(udp(netip.MustParseAddr("198.18.1.10"), netip.MustParseAddr("198.19.20.53"), 1, 53), 1, 2, 3))
		g.emit(in, b, "three vlan tags")
	default:
		c := g.conv()
		b := buildOn(c.spec(false, packets.SYN, false), in, 0)
		note := "bent " + c.String()
		for range 1 + g.pick(3) {
			b, note = g.bend(b, note)
		}
		g.steps = append(g.steps, seqStep{iface: in.iface, frame: b, note: note + " from " + in.String()})
	}
}

// l3Of finds a frame's network header after its tags: offset and type.
func l3Of(b []byte) (int, uint16) {
	off := 12
	for off+2 <= len(b) {
		p := binary.BigEndian.Uint16(b[off:])
		if !isVLANProto(p) {
			return off + 2, p
		}
		off += 4
	}
	return len(b), 0
}

// bend damages a copy of a frame at one layer.
func (g *seqGen) bend(frame []byte, note string) ([]byte, string) {
	b := append([]byte{}, frame...)
	l3, proto := l3Of(b)
	at := func(i int) bool { return i < len(b) }
	switch g.pick(9) {
	case 0:
		n := 14 + g.pick(len(b)-13)
		return b[:n], note + fmt.Sprintf(" cut to %d", n)
	case 1:
		i := 12 + g.pick(min(len(b), 100)-12)
		b[i] ^= byte(1 + g.rng.UintN(255))
		return b, note + fmt.Sprintf(" byte %d flipped", i)
	case 2:
		if l3 > 14 {
			b[12], b[13] = 0x88, 0xa8
			return b, note + " outer tag 802.1ad"
		}
	case 3:
		return append(b, make([]byte, 1+g.pick(40))...), note + " trailing bytes"
	case 4:
		if proto == 0x0800 && at(l3) {
			b[l3] = 0x40 | byte(g.pick(16))
			return b, note + fmt.Sprintf(" ihl %d", b[l3]&0x0f)
		}
		if proto == 0x86dd && at(l3+5) {
			v := binary.BigEndian.Uint16(b[l3+4:]) + uint16(g.pick(9)) - 4
			binary.BigEndian.PutUint16(b[l3+4:], v)
			return b, note + fmt.Sprintf(" payload length %d", v)
		}
	case 5:
		if at(l3) {
			b[l3] = b[l3]&0x0f | byte(g.pick(16))<<4
			return b, note + fmt.Sprintf(" ip version %d", b[l3]>>4)
		}
	case 6:
		if proto == 0x0800 && at(l3+3) {
			v := binary.BigEndian.Uint16(b[l3+2:]) + uint16(g.pick(9)) - 4
			binary.BigEndian.PutUint16(b[l3+2:], v)
			return b, note + fmt.Sprintf(" total length %d", v)
		}
	case 7:
		p, _ := refParse(b)
		if p.l4Off > 0 && at(p.l4Off+13) && p.proto == 6 {
			b[p.l4Off+12] = byte(g.pick(16)) << 4
			return b, note + fmt.Sprintf(" tcp data offset %d", b[p.l4Off+12]>>4)
		}
		if p.l4Off > 0 && at(p.l4Off+5) && p.proto == 17 {
			b[p.l4Off+4], b[p.l4Off+5] = 0, byte(g.pick(12))
			return b, note + fmt.Sprintf(" udp length %d", b[p.l4Off+5])
		}
	case 8:
		if proto == 0x0800 && at(l3+7) {
			b[l3+6], b[l3+7] = byte(g.pick(256)), byte(g.pick(4))
			return b, note + fmt.Sprintf(" fragment field %#x", binary.BigEndian.Uint16(b[l3+6:]))
		}
	}
	return b, note
}
