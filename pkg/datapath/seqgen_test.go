package datapath

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"

	"github.com/google/gopacket/layers"
	"github.com/palisade-psn/palisade/internal/packets"
)

// The sequence fuzzer's packet generator: conversations between the
// organisations of testdata/seqfuzz and the services and each other,
// with the replies, fragments, ICMP errors and link control traffic that
// go with them, from the right sides and the wrong ones, and frames cut
// or bent at every layer. It knows where each address lives, never what
// the boundary will decide: that is the model's job.

// seqStep is one step of a sequence: a frame arriving on an interface,
// or a change a control plane makes between packets.
type seqStep struct {
	iface string
	frame []byte
	note  string
	event *seqEvent
}

// seqEvent: suspend or restore an organisation (org, on), or the
// inspector's verdict on a flow (key, on = allow).
type seqEvent struct {
	kind string // "suspend" or "verdict"
	org  int
	key  BoundaryPalFlowKey
	on   bool
}

func (s seqStep) String() string {
	if e := s.event; e != nil {
		if e.kind == "suspend" {
			return fmt.Sprintf("event: organisation %d suspended=%v", e.org, e.on)
		}
		return fmt.Sprintf("event: inspector verdict allow=%v for flow %s", e.on, flowKeyString(e.key))
	}
	return fmt.Sprintf("%s %s\n      %x", s.iface, s.note, s.frame)
}

// genIngress is where a host's frames come in: interface and tags.
type genIngress struct {
	iface string
	tags  []uint16
}

func (g genIngress) String() string {
	if len(g.tags) == 0 {
		return g.iface
	}
	return fmt.Sprintf("%s%v", g.iface, g.tags)
}

type genTarget struct {
	dst   string
	proto uint8 // 6, 17, or 1 (echo; ICMPv6 towards IPv6)
	port  uint16
}

type genOrg struct {
	id      string
	in      genIngress
	hosts   []string
	targets []genTarget
}

func target(dst string, proto uint8, port uint16) genTarget { return genTarget{dst, proto, port} }

// genOrgs mirror testdata/seqfuzz: each organisation's hosts and what it
// is meant to reach (the generator also sends it elsewhere).
var genOrgs = []genOrg{
	{"alpha", genIngress{"org0", nil}, []string{"198.18.1.10", "198.18.1.11", "2001:db8:1::10", "2001:db8:1:5::20", "198.18.1.200", "2001:db8:1:ff::5"}, []genTarget{
		target("198.19.10.5", 6, 443), target("198.19.10.6", 6, 80), target("2001:db8:10::5", 6, 443), target("2001:db8:10::6", 6, 443),
		target("198.19.20.53", 17, 53), target("2001:db8:20::53", 17, 53), target("198.19.20.53", 6, 53),
		target("198.19.30.5", 17, 5005), target("2001:db8:30::5", 17, 5000), target("198.19.10.5", 1, 0), target("2001:db8:10::5", 1, 0),
		target("198.18.3.10", 6, 22), target("2001:db8:3::10", 6, 22), target("198.18.3.200", 1, 0), target("198.18.4.10", 17, 7000),
		target("2001:db8:4::10", 17, 7000), target("198.18.4.70", 17, 7000), target("198.18.2.10", 17, 7000), target("2001:db8:2::10", 17, 7000),
		target("198.19.40.7", 6, 8443)}},
	{"eta", genIngress{"org0", nil}, []string{"198.18.6.10", "2001:db8:6::10"}, []genTarget{
		target("198.19.10.5", 6, 443), target("2001:db8:10::5", 6, 443), target("198.19.10.5", 1, 0), target("2001:db8:10::5", 1, 0)}},
	{"gamma", genIngress{"org1", nil}, []string{"198.18.3.10", "198.18.3.200", "2001:db8:3::10"}, []genTarget{
		target("198.19.10.5", 6, 443), target("2001:db8:10::5", 6, 80), target("198.19.10.6", 1, 0), target("2001:db8:10::5", 1, 0),
		target("198.18.1.10", 17, 7000), target("2001:db8:1::10", 17, 7000)}},
	{"beta", genIngress{"org1", []uint16{100}}, []string{"198.18.2.10", "2001:db8:2::10"}, []genTarget{
		target("198.19.20.10", 6, 80), target("2001:db8:20::10", 6, 80), target("198.19.10.5", 6, 443)}},
	{"delta", genIngress{"org1", []uint16{200}}, []string{"198.18.4.10", "2001:db8:4::10", "198.18.4.70"}, []genTarget{
		target("198.19.10.5", 6, 443), target("2001:db8:10::5", 6, 443), target("198.19.20.53", 17, 53), target("198.19.40.7", 6, 8443)}},
	{"theta", genIngress{"org1", []uint16{300, 7}}, []string{"198.18.5.10", "2001:db8:5::10"}, []genTarget{
		target("198.19.10.5", 6, 443), target("2001:db8:10::5", 6, 443), target("198.19.10.5", 1, 0), target("2001:db8:10::5", 1, 0)}},
	{"zeta", genIngress{"org2", nil}, []string{"198.18.7.10", "2001:db8:7::10"}, []genTarget{
		target("198.19.10.5", 6, 443), target("2001:db8:10::5", 6, 443), target("198.19.20.53", 17, 53), target("198.19.10.5", 1, 0)}},
}

// Addresses the generator draws from beyond the organisations' hosts.
var (
	genServices = []string{"198.19.10.5", "198.19.10.6", "198.19.20.10", "198.19.20.53", "198.19.30.5", "198.19.40.7",
		"2001:db8:10::5", "2001:db8:10::6", "2001:db8:20::10", "2001:db8:20::53", "2001:db8:30::5", "2001:db8:40::7"}
	genRouters = map[string][]string{"svc0": {"198.19.10.254", "2001:db8:10::fe"}, "svc1": {"198.19.30.254", "2001:db8:30::fe"}}
	genOdd     = []string{
		"198.18.1.1", "198.18.1.255", "198.18.3.1", "198.18.7.1", "198.19.10.1", "198.19.30.1", "198.18.2.1", "198.18.5.1",
		"198.19.10.255", "198.19.66.1", "198.19.67.1", "198.19.68.1", "198.18.200.1", "198.18.9.9", "10.1.2.3", "224.0.0.1", "255.255.255.255",
		"127.0.0.1", "0.0.0.0", "198.18.1.12", "198.18.3.11",
		"2001:db8:1::1", "2001:db8:1::", "2001:db8:10::", "2001:db8:7::", "2001:db8:3::1", "2001:db8:7::1", "2001:db8:10::1", "2001:db8:66::1",
		"2001:db8:67::1", "2001:db8:68::1", "2001:db8:99::1", "2001:db8:9::9", "2001:db8:1::12", "::1", "::",
		"fe80::1", "fe80::2", "ff02::1", "ff02::2", "ff02::16", "ff02::1:ff00:10", "ff01::1", "ff12::1", "ff05::2", "ff0e::1",
	}
	genIngresses = []genIngress{{"org0", nil}, {"org0", []uint16{0}}, {"org1", nil}, {"org1", []uint16{0}}, {"org1", []uint16{100}},
		{"org1", []uint16{200}}, {"org1", []uint16{300, 7}}, {"org1", []uint16{300}}, {"org1", []uint16{999}}, {"org1", []uint16{0, 100}},
		// Around theta's QinQ ingress: another inner or outer tag, the
		// inner tag alone or first, and inner tags inside single-tagged VLANs.
		{"org1", []uint16{300, 8}}, {"org1", []uint16{301, 7}}, {"org1", []uint16{7}}, {"org1", []uint16{7, 300}},
		{"org1", []uint16{200, 7}}, {"org1", []uint16{100, 7}}, {"org0", []uint16{300, 7}},
		{"org2", nil}, {"svc0", nil}, {"svc0", []uint16{0}}, {"svc0", []uint16{10}}, {"svc1", nil}}
)

// seqPoolAddrs is every address the generator uses (checked against the
// kernel's routes by the harness).
func seqPoolAddrs() []netip.Addr {
	var out []netip.Addr
	add := func(ss ...string) {
		for _, s := range ss {
			out = append(out, netip.MustParseAddr(s))
		}
	}
	for _, o := range genOrgs {
		add(o.hosts...)
	}
	add(genServices...)
	add(genOdd...)
	for _, r := range genRouters {
		add(r...)
	}
	return out
}

// homeOf is where a host with address a sends from: its organisation's
// ingress, or the service link its prefix is routed to.
func homeOf(a netip.Addr) genIngress {
	bits := 48
	if a.Is4() {
		bits = 24
	}
	for _, o := range genOrgs {
		for _, h := range o.hosts {
			ha := netip.MustParseAddr(h)
			if ha.Is4() == a.Is4() && netip.PrefixFrom(ha, bits).Masked().Contains(a) {
				return o.in
			}
		}
	}
	if netip.MustParsePrefix("198.19.30.0/24").Contains(a) || netip.MustParsePrefix("2001:db8:30::/48").Contains(a) {
		return genIngress{"svc1", nil}
	}
	return genIngress{"svc0", nil}
}

// seqGen generates one epoch: a sequence that starts from empty flow and
// fragment tables.
type seqGen struct {
	rng   *rand.Rand
	convs []*genConv
	port  uint16
	id    uint32
	steps []seqStep
}

// genConv is a conversation the generator opened (allowed or not).
type genConv struct {
	org      *genOrg
	in       genIngress
	src, dst netip.Addr
	proto    uint8 // 6, 17, 1 or 58
	sport    uint16
	dport    uint16 // ICMP: the echo identifier, as sport
}

func newSeqGen(seed, epoch uint64) *seqGen {
	rng := rand.New(rand.NewPCG(seed, epoch))
	return &seqGen{rng: rng, port: uint16(20000 + rng.IntN(20000)), id: rng.Uint32()}
}

func (g *seqGen) pick(n int) int        { return g.rng.IntN(n) }
func (g *seqGen) chance(p float64) bool { return g.rng.Float64() < p }

func pickStr(g *seqGen, s []string) netip.Addr { return netip.MustParseAddr(s[g.pick(len(s))]) }

func (g *seqGen) nextPort() uint16 {
	g.port++
	if g.port < 1024 {
		g.port = 20000
	}
	return g.port
}

func (g *seqGen) nextID() uint32 {
	g.id++
	return g.id
}

// epoch generates n steps.
func (g *seqGen) epoch(n int) []seqStep {
	kinds := []struct {
		weight int
		gen    func()
	}{
		{16, g.openFlow}, {16, g.forwardPacket}, {18, g.reply}, {5, g.takeover}, {8, g.fragments},
		{12, g.icmpError}, {4, g.nd}, {2, g.mld}, {4, g.arp}, {6, g.randomFirst}, {2, g.garbage}, {1, g.event},
	}
	total := 0
	for _, k := range kinds {
		total += k.weight
	}
	for len(g.steps) < n {
		r := g.pick(total)
		for _, k := range kinds {
			if r < k.weight {
				k.gen()
				break
			}
			r -= k.weight
		}
	}
	return g.steps[:n]
}

// emit adds a frame, now and then bent (seqgen_doors_test.go).
func (g *seqGen) emit(in genIngress, frame []byte, note string) {
	if g.chance(0.06) {
		frame, note = g.bend(frame, note)
	}
	g.steps = append(g.steps, seqStep{iface: in.iface, frame: frame, note: note})
}

// buildOn serialises s with the ingress's tags and a TTL (0: 64).
func buildOn(s packets.Spec, in genIngress, ttl uint8) []byte {
	s.VLANs = in.tags
	b := packets.Build(s)
	if ttl != 0 {
		setTTL(b, ttl)
	}
	return b
}

// setTTL rewrites an IP frame's TTL or hop limit in place.
func setTTL(b []byte, ttl uint8) {
	switch l3, proto := l3Of(b); {
	case proto == 0x0800 && l3+9 <= len(b):
		b[l3+8] = ttl
	case proto == 0x86dd && l3+8 <= len(b):
		b[l3+7] = ttl
	}
}

func (c *genConv) v6() bool { return c.src.Is6() }

// spec is a packet of the conversation; reverse swaps the ends.
func (c *genConv) spec(reverse bool, flags uint8, echoReply bool) packets.Spec {
	src, dst, sp, dp := c.src, c.dst, c.sport, c.dport
	if reverse {
		src, dst, sp, dp = dst, src, dp, sp
	}
	switch c.proto {
	case 6:
		return tcp(src, dst, sp, dp, flags)
	case 17:
		return udp(src, dst, sp, dp)
	}
	return echo(src, dst, c.sport, echoReply)
}

func (c *genConv) String() string {
	return fmt.Sprintf("%s %s:%d > %s:%d", protoName(c.proto), c.src, c.sport, c.dst, c.dport)
}

func protoName(p uint8) string {
	switch p {
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 1:
		return "icmp"
	case 58:
		return "icmpv6"
	}
	return fmt.Sprintf("proto%d", p)
}

func flagNames(f uint8) string {
	var s []string
	for i, n := range []string{"F", "S", "R", "P", "A"} {
		if f&(1<<i) != 0 {
			s = append(s, n)
		}
	}
	return "[" + strings.Join(s, "") + "]"
}

// newConv draws a conversation from an organisation to one of its
// targets (or anywhere), on its own ingress (or another).
func (g *seqGen) newConv() *genConv {
	o := &genOrgs[g.pick(len(genOrgs))]
	src := netip.MustParseAddr(o.hosts[g.pick(len(o.hosts))])
	c := &genConv{org: o, in: o.in, src: src, sport: g.nextPort()}
	t := o.targets[g.pick(len(o.targets))]
	c.dst, c.proto, c.dport = netip.MustParseAddr(t.dst), t.proto, t.port
	if c.dst.Is4() != src.Is4() || g.chance(0.15) {
		c.dst = g.addrLike(src)
		c.proto = []uint8{6, 17, 1}[g.pick(3)]
		c.dport = []uint16{22, 53, 80, 443, 5005, 7000, 8443}[g.pick(7)]
	}
	if c.proto == 1 {
		c.dport = c.sport
		if c.v6() {
			c.proto = 58
		}
	}
	if c.proto == 17 && c.dport == 5005 {
		c.dport = uint16(4998 + g.pick(15)) // around the bulk range
	}
	switch {
	case g.chance(0.05):
		c.in = genIngress{o.in.iface, append([]uint16{0}, o.in.tags...)} // priority tagged
		if len(c.in.tags) > 2 {
			c.in.tags = c.in.tags[:2]
		}
	case g.chance(0.08):
		c.in = genIngresses[g.pick(len(genIngresses))]
	}
	if g.chance(0.04) {
		c.src = g.addrLike(src) // not its own
	}
	return c
}

// addrLike draws an address of a's family from everything known.
func (g *seqGen) addrLike(a netip.Addr) netip.Addr {
	for {
		var s string
		switch g.pick(3) {
		case 0:
			s = genServices[g.pick(len(genServices))]
		case 1:
			o := genOrgs[g.pick(len(genOrgs))]
			s = o.hosts[g.pick(len(o.hosts))]
		default:
			s = genOdd[g.pick(len(genOdd))]
		}
		if b := netip.MustParseAddr(s); b.Is4() == a.Is4() {
			return b
		}
	}
}

func (g *seqGen) conv() *genConv {
	if len(g.convs) == 0 || g.chance(0.05) {
		return g.newConv()
	}
	return g.convs[g.pick(len(g.convs))]
}

func (g *seqGen) ttl() uint8 {
	switch g.pick(20) {
	case 0:
		return 1
	case 1:
		return 255
	}
	return 0
}

// openFlow sends a conversation's first packet.
func (g *seqGen) openFlow() {
	c := g.newConv()
	g.convs = append(g.convs, c)
	s := c.spec(false, packets.SYN, false)
	note := fmt.Sprintf("open %s %s", c, flagNames(packets.SYN))
	if g.chance(0.06) {
		s, note = g.withOptions(s, note)
	}
	g.emit(c.in, buildOn(s, c.in, g.ttl()), note+" from "+c.in.String())
}

// forwardPacket sends the originator's next packet, now and then from
// another ingress (a takeover attempt) or as one that reopens the flow.
func (g *seqGen) forwardPacket() {
	c := g.conv()
	flags := []uint8{packets.ACK, packets.ACK, packets.PSH | packets.ACK, packets.FIN | packets.ACK, packets.RST,
		packets.SYN, packets.SYN | packets.ACK, 0}[g.pick(8)]
	in := c.in
	if g.chance(0.12) {
		in = genIngresses[g.pick(len(genIngresses))]
	}
	s := c.spec(false, flags, false)
	if c.proto == 1 || c.proto == 58 {
		if g.chance(0.1) {
			s.ICMPType = []uint8{13, 15, 17, 130, 200}[g.pick(5)] // other ICMP that is no error, same identifier
		}
	}
	g.emit(in, buildOn(s, in, g.ttl()), fmt.Sprintf("originator %s %s from %s", c, flagNames(flags), in))
}

// reply sends the responder's packet, mostly from where it lives.
func (g *seqGen) reply() {
	c := g.conv()
	flags := []uint8{packets.SYN | packets.ACK, packets.ACK, packets.PSH | packets.ACK, packets.FIN | packets.ACK,
		packets.RST, packets.RST | packets.ACK, packets.SYN}[g.pick(7)]
	in := homeOf(c.dst)
	switch r := g.pick(100); {
	case r < 8:
		in = genIngresses[g.pick(len(genIngresses))]
	case r < 12:
		in = c.in
	case r < 18:
		in = genIngress{[]string{"svc0", "svc1"}[g.pick(2)], nil}
	}
	s := c.spec(true, flags, true)
	if g.chance(0.05) {
		s.Src = g.addrLike(c.dst) // a neighbour of the responder
	}
	g.emit(in, buildOn(s, in, g.ttl()), fmt.Sprintf("reply to %s %s from %s (%s)", c, flagNames(flags), in, s.Src))
}

// takeover sends a new first packet on a known conversation's 5-tuple
// from another ingress.
func (g *seqGen) takeover() {
	c := g.conv()
	in := genIngresses[g.pick(len(genIngresses))]
	if g.chance(0.3) {
		o := genOrgs[g.pick(len(genOrgs))]
		in = o.in
	}
	s := c.spec(false, packets.SYN, false)
	g.emit(in, buildOn(s, in, 0), fmt.Sprintf("takeover of %s from %s", c, in))
}

// randomFirst is the differential test's random first packet.
func (g *seqGen) randomFirst() {
	src := pickStr(g, genServices)
	if g.chance(0.7) {
		o := genOrgs[g.pick(len(genOrgs))]
		src = netip.MustParseAddr(o.hosts[g.pick(len(o.hosts))])
	}
	dst := g.addrLike(src)
	in := genIngresses[g.pick(len(genIngresses))]
	c := &genConv{in: in, src: src, dst: dst, proto: []uint8{6, 17, 1}[g.pick(3)], sport: g.nextPort(),
		dport: []uint16{22, 53, 80, 443, 5000, 5010, 7000, 8443}[g.pick(8)]}
	if c.proto == 1 && src.Is6() {
		c.proto = 58
	}
	flags := []uint8{packets.SYN, packets.ACK, packets.SYN | packets.ACK, packets.FIN}[g.pick(4)]
	g.emit(in, buildOn(c.spec(false, flags, g.chance(0.2)), in, g.ttl()), fmt.Sprintf("random %s %s from %s", c, flagNames(flags), in))
}

// event changes the control plane between packets.
func (g *seqGen) event() {
	if g.chance(0.5) {
		g.steps = append(g.steps, seqStep{event: &seqEvent{kind: "suspend", org: g.pick(len(genOrgs)), on: g.chance(0.5)}})
		return
	}
	for _, c := range g.convs {
		if c.proto == 6 && c.dport == 8443 && g.chance(0.5) {
			k, _ := FlowKeyOf(c.src, c.dst, c.sport, c.dport, c.proto)
			g.steps = append(g.steps, seqStep{event: &seqEvent{kind: "verdict", key: k, on: g.chance(0.5)}})
			return
		}
	}
}

// withOptions adds IPv4 options or IPv6 extension headers, good and bad.
func (g *seqGen) withOptions(s packets.Spec, note string) (packets.Spec, string) {
	if s.Src.Is4() {
		opts := [][]layers.IPv4Option{{nop}, {nop, timestamp}, {lsrr}, {nop, lsrr},
			{{OptionType: 137, OptionLength: 7, OptionData: []byte{4, 198, 19, 10, 9}}}, {{OptionType: 0, OptionLength: 1}}}
		i := g.pick(len(opts))
		s.IPv4Opts = opts[i]
		return s, note + fmt.Sprintf(" ipv4-options#%d", i)
	}
	exts := [][]packets.Ext{{hopByHop}, {hopByHop, destOpts}, {routingDone}, {routingLeft}, {destOpts, destOpts, destOpts, destOpts, destOpts, destOpts}}
	i := g.pick(len(exts))
	s.IPv6Ext = exts[i]
	return s, note + fmt.Sprintf(" ipv6-ext#%d", i)
}
