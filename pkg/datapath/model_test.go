package datapath

import (
	"net/netip"

	"github.com/palisade-psn/palisade/pkg/policy"
)

// refModel is the reference model of the XDP boundary's decision for a
// sequence of packets: parse (refparse_test.go), link control, policy
// (policy.Decide), and the flow, fragment and reverse-path state, written
// from the spec of issue 16 (the order of decisions there), not from the
// C. It says, for each packet, the XDP action and, for a drop, the reason.
// Time plays no part: the fuzzer's sequences are far shorter than any
// timeout.
type refModel struct {
	w         *seqWorld
	pol       *policy.Compiled
	loaded    bool // a policy is published
	xdpFwd    bool // PAL_CFG_FORWARD
	ingresses map[ingressID]refIngress
	orgFacing map[uint32]bool
	orgIndex  map[string]int
	flows     map[BoundaryPalFlowKey]*refFlow
	frags     map[refFragKey]refFrag
}

// ingressID is where a packet came in: interface and tags.
type ingressID struct {
	ifindex     uint32
	vlan, inner uint16
}

type refIngress struct {
	services bool // a service-side link: replies only
	id       int  // index in policy.Compiled.Ingresses
}

// Verdicts (enum pal_verdict) and flow flags (enum pal_flow_flags).
const (
	vDrop    uint8 = 0
	vAllow   uint8 = 1
	vInspect uint8 = 2

	ffOrigLo    uint8 = 1 << 0
	ffSeenReply uint8 = 1 << 1
	ffFinOrig   uint8 = 1 << 2
	ffFinReply  uint8 = 1 << 3
	ffRST       uint8 = 1 << 4
	ffFailOpen  uint8 = 1 << 5
)

type refFlow struct {
	org, rule int // indexes in the policy
	verdict   uint8
	flags     uint8
	orig      ingressID
	reply     ingressID // ifindex 0: no reply recorded yet
}

type refFragKey struct {
	src, dst      netip.Addr
	id            uint32
	proto, family uint8
	in            ingressID
}

type refFrag struct {
	org, rule int
	verdict   uint8
}

// refOutcome is what the model expects of one packet.
type refOutcome struct {
	action uint32 // xdpDrop, xdpPass, xdpRedirect
	reason uint32 // for a drop
	why    string // the decision taken, for reports
}

func (o refOutcome) String() string {
	switch o.action {
	case xdpDrop:
		return "drop " + reasonName(o.reason)
	case xdpPass:
		return "pass"
	case xdpRedirect:
		return "redirect"
	}
	return "action " + reasonName(o.action)
}

func refDrop(r uint32, why string) refOutcome {
	return refOutcome{action: xdpDrop, reason: r, why: why}
}
func refPass(why string) refOutcome { return refOutcome{action: xdpPass, why: why} }

func newRefModel(w *seqWorld, pol *policy.Compiled, attached []string) *refModel {
	m := &refModel{w: w, pol: pol, ingresses: map[ingressID]refIngress{}, orgFacing: map[uint32]bool{}, orgIndex: map[string]int{}}
	if pol != nil {
		m.loaded = true
		for i, in := range pol.Ingresses {
			idx, ok := w.ifindex[in.Interface]
			if !ok {
				continue
			}
			m.ingresses[ingressID{idx, in.VLAN, in.InnerVLAN}] = refIngress{id: i}
			m.orgFacing[idx] = true
		}
		for _, n := range attached {
			if idx := w.ifindex[n]; !m.orgFacing[idx] {
				m.ingresses[ingressID{ifindex: idx}] = refIngress{services: true}
			}
		}
		for i, o := range pol.Orgs {
			m.orgIndex[o.ID] = i
		}
	}
	m.reset()
	return m
}

// reset forgets every flow and fragment.
func (m *refModel) reset() {
	m.flows = map[BoundaryPalFlowKey]*refFlow{}
	m.frags = map[refFragKey]refFrag{}
}

// decide is the program's decision for frame, arriving on ifindex, in
// the order of the spec: parse, link control, no policy, later fragment,
// ICMP error, flow, new flow.
func (m *refModel) decide(ifindex uint32, b []byte) refOutcome {
	p, r := refParse(b)
	if r != rNone {
		return refDrop(r, "parse")
	}
	in := ingressID{ifindex, p.vlan, p.inner}
	if o, ok := m.linkControl(&p, in); ok {
		return o
	}
	if !m.loaded {
		return refDrop(rNoPolicy, "no policy published")
	}
	if p.frag == fragLater {
		return m.laterFragment(&p, in)
	}
	if refICMPError(&p) {
		return m.relatedError(b, &p, in)
	}
	k, srcLo := FlowKeyOf(p.src, p.dst, p.sport, p.dport, p.proto)
	if f := m.flows[k]; f != nil {
		if o, ok := m.flowContinue(&p, in, k, f, srcLo); ok {
			return o
		}
	}
	return m.flowStart(&p, in, k, srcLo)
}

func refICMPError(p *refPkt) bool {
	t := p.icmpType
	if p.family == 4 && p.proto == 1 {
		return t == 3 || t == 11 || t == 12
	}
	return p.family == 6 && p.proto == 58 && t >= 1 && t <= 4
}

// startsFlow: a reply-shaped packet never opens a flow.
func refStartsFlow(p *refPkt) bool {
	switch p.proto {
	case 6:
		return p.tcpFlags&0x17 == 0x02 // SYN alone of SYN, ACK, RST, FIN
	case 17:
		return true
	}
	if p.family == 4 {
		return p.icmpType == 8
	}
	return p.icmpType == 128
}

func (f *refFlow) closing() bool {
	return f.flags&ffRST != 0 || f.flags&(ffFinOrig|ffFinReply) == ffFinOrig|ffFinReply
}

// linkControl is step 2-4 of the spec: ARP, ND and MLD are decided
// before the policy, as link traffic for the gateway or refused.
func (m *refModel) linkControl(p *refPkt, in ingressID) (refOutcome, bool) {
	if p.family == 0 {
		if m.w.routeDev(p.dst, in.ifindex) > 0 {
			return refDrop(rLinkControl, "arp for a host the gateway routes to"), true
		}
		return refPass("arp for the gateway"), true
	}
	if p.family != 6 || p.proto != 58 || p.frag != fragNone {
		return refOutcome{}, false
	}
	switch t := p.icmpType; {
	case t >= 133 && t <= 137:
		if p.ttl != 255 {
			return refDrop(rLinkControl, "nd hop limit not 255"), true
		}
		if p.dst.IsLinkLocalUnicast() || linkMulticast(p.dst) {
			return refPass("nd on the link"), true
		}
		if m.w.routeDev(p.dst, in.ifindex) == 0 {
			return refPass("nd to the gateway (not forwarded)"), true
		}
		return refDrop(rLinkControl, "nd to an address the gateway would forward"), true
	case (t >= 130 && t <= 132) || t == 143:
		if p.ttl == 1 && p.dst.IsMulticast() && (p.src.IsLinkLocalUnicast() || p.src == netip.IPv6Unspecified()) {
			return refPass("mld"), true
		}
		return refDrop(rLinkControl, "mld not link-local"), true
	}
	return refOutcome{}, false
}

// linkMulticast: ff01::/16 and ff02::/16 whatever the flags nibble.
func linkMulticast(a netip.Addr) bool {
	b := a.As16()
	return b[0] == 0xff && b[1]&0x0f <= 2
}

func (m *refModel) fragKey(p *refPkt, in ingressID) refFragKey {
	return refFragKey{p.src, p.dst, p.fragID, p.fragProto, p.family, in}
}

func (m *refModel) laterFragment(p *refPkt, in ingressID) refOutcome {
	fr, ok := m.frags[m.fragKey(p, in)]
	if !ok {
		return refDrop(rFragment, "later fragment with no first on this ingress")
	}
	return m.deliver(p, in, fr.org, fr.rule, fr.verdict, false, "later fragment follows its first")
}

// deliver is the tail of every positive verdict: a first fragment is
// remembered; an allowed packet is forwarded in XDP when it may be.
func (m *refModel) deliver(p *refPkt, in ingressID, org, rule int, verdict uint8, mayFwd bool, why string) refOutcome {
	if p.frag == fragFirst {
		m.frags[m.fragKey(p, in)] = refFrag{org, rule, verdict}
	}
	if verdict == vAllow && mayFwd {
		return m.forward(p, in, why)
	}
	return refPass(why)
}

// forward is pal_try_forward: only untagged frames, TTL left, a route
// with a known neighbour through an interface XDP may redirect to.
func (m *refModel) forward(p *refPkt, in ingressID, why string) refOutcome {
	if !m.xdpFwd || p.l3Off != 14 || p.ttl <= 1 {
		return refPass(why)
	}
	tot := p.ipLen
	if p.family == 6 {
		tot -= 40
	}
	code, dev := m.w.fib(p.dst, p.src, in.ifindex, false, tot)
	if code != fibSuccess || !m.w.txPorts[dev] {
		return refPass(why)
	}
	return refOutcome{action: xdpRedirect, why: why + ", forwarded in XDP"}
}
