package datapath

import (
	"net/netip"

	"github.com/palisade-psn/palisade/pkg/policy"
)

// The reference model's flow side: steps 7-9 of the spec (ICMP errors,
// packets of a known flow, new flows), with the identity and
// reverse-path checks they make.

// relatedError: an ICMP error passes only back to the sender of the
// packet it quotes, from the side that packet went to, quoting an
// allowed flow.
func (m *refModel) relatedError(b []byte, p *refPkt, in ingressID) refOutcome {
	limit := uint32(576)
	if p.family == 6 {
		limit = 1280
	}
	if p.ipLen > limit {
		return refDrop(rICMPErrorSize, "icmp error too long")
	}
	q, ok := refQuote(b, p)
	if !ok {
		return refDrop(rNoFlow, "icmp error quote unreadable")
	}
	k, qlo := FlowKeyOf(q.src, q.dst, q.sport, q.dport, q.proto)
	f := m.flows[k]
	if f == nil || f.verdict != vAllow {
		return refDrop(rNoFlow, "icmp error quotes no allowed flow")
	}
	if q.src != p.dst {
		return refDrop(rICMPErrorMismatch, "icmp error not to the quoted packet's sender")
	}
	if qlo == (f.flags&ffOrigLo != 0) { // the quote went originator -> responder
		if f.orig == in {
			return refDrop(rICMPErrorMismatch, "icmp error to the originator from its own ingress")
		}
		if !m.replySourceOK(p, in) {
			return refDrop(rSpoofedSource, "icmp error to the originator: source not registered here")
		}
		if !m.replyIngressOK(f, q.dst, p, in, false) {
			return refDrop(rReversePath, "icmp error to the originator: not where the responder is")
		}
		return m.deliver(p, in, f.org, f.rule, vAllow, f.orig.vlan|f.orig.inner == 0, "icmp error back to the originator")
	}
	if f.orig != in {
		return refDrop(rICMPErrorMismatch, "icmp error to the responder from another ingress")
	}
	if !m.ownerSourceOK(p, in, f.org) {
		return refDrop(rSpoofedSource, "icmp error to the responder: source not the flow owner's")
	}
	return m.deliver(p, in, f.org, f.rule, vAllow, true, "icmp error back to the responder")
}

// flowContinue decides a packet of a known flow; ok false when the flow
// no longer speaks for it (closed, and this packet opens it again).
func (m *refModel) flowContinue(p *refPkt, in ingressID, k BoundaryPalFlowKey, f *refFlow, srcLo bool) (refOutcome, bool) {
	dir := 0
	if srcLo != (f.flags&ffOrigLo != 0) {
		dir = 1
	}
	if dir == 0 && f.closing() && refStartsFlow(p) {
		delete(m.flows, k)
		return refOutcome{}, false
	}
	if dir == 0 && f.orig != in {
		return refDrop(rFlowIngress, "flow's own packet from another ingress"), true
	}
	if dir == 1 && (f.orig == in || !m.replySourceOK(p, in)) {
		return refDrop(rSpoofedSource, "reply from the originator's side or an unregistered source"), true
	}
	if dir == 1 && !m.replyIngressOK(f, p.src, p, in, true) {
		return refDrop(rReversePath, "reply not where the responder is"), true
	}
	f.touch(p, dir)
	if f.verdict == vDrop {
		return refDrop(rFlowDenied, "flow refused by the inspector"), true
	}
	why := "flow, originator's packet"
	if dir == 1 {
		why = "flow, reply"
	}
	return m.deliver(p, in, f.org, f.rule, f.verdict, dir == 0 || f.orig.vlan|f.orig.inner == 0, why), true
}

func (f *refFlow) touch(p *refPkt, dir int) {
	if p.proto != 6 {
		if dir == 1 {
			f.flags |= ffSeenReply
		}
		return
	}
	if dir == 1 {
		f.flags |= ffSeenReply
	}
	if p.tcpFlags&0x04 != 0 {
		f.flags |= ffRST
	}
	if p.tcpFlags&0x01 != 0 && dir == 0 {
		f.flags |= ffFinOrig
	}
	if p.tcpFlags&0x01 != 0 && dir == 1 {
		f.flags |= ffFinReply
	}
}

// flowStart decides a packet no flow speaks for.
func (m *refModel) flowStart(p *refPkt, in ingressID, k BoundaryPalFlowKey, srcLo bool) refOutcome {
	ing, ok := m.ingresses[in]
	if !ok {
		return refDrop(rUnknownIngress, "new flow on an unknown ingress")
	}
	if ing.services || !refStartsFlow(p) {
		return refDrop(rNoFlow, "no flow: unsolicited or reply-shaped")
	}
	d := m.pol.Decide(policy.Query{Interface: m.w.ifname[in.ifindex], VLAN: in.vlan, InnerVLAN: in.inner,
		Src: p.src, Dst: p.dst, Proto: p.proto, Port: p.dport})
	if d.Verdict == policy.Drop {
		return refDrop(reasonByName(d.Reason), "policy refuses the first packet")
	}
	if !m.rpf(p.src, p, in) {
		return refDrop(rReversePath, "first packet's source not routed back to its ingress")
	}
	f := &refFlow{org: m.orgIndex[d.Org], rule: d.Rule, orig: in, verdict: vAllow}
	if d.Verdict == policy.Inspect {
		f.verdict = vInspect
	}
	if srcLo {
		f.flags |= ffOrigLo
	}
	if m.pol.Rules[d.Rule].FailOpen {
		f.flags |= ffFailOpen
	}
	m.flows[k] = f
	return m.deliver(p, in, f.org, f.rule, f.verdict, true, "new flow allowed")
}

// rpf: does the route to a lead back to where p came in?
func (m *refModel) rpf(a netip.Addr, p *refPkt, in ingressID) bool {
	dev := m.w.routeDev(a, in.ifindex)
	switch {
	case dev < 0:
		return true // forwarding off on the ingress: no answer
	case dev == 0:
		return false
	case uint32(dev) == in.ifindex:
		return true
	}
	vd, ok := m.w.vlanDevs[uint32(dev)]
	return ok && m.w.ifindex[vd.parent] == in.ifindex && vd.vlan == in.vlan && vd.inner == in.inner
}

// replySourceOK: what enters an organisation-facing interface must
// carry a source registered on its ingress.
func (m *refModel) replySourceOK(p *refPkt, in ingressID) bool {
	if !m.orgFacing[in.ifindex] {
		return true
	}
	ing, ok := m.ingresses[in]
	if !ok {
		return false
	}
	return ing.services || m.sourceOrg(ing, p.src) >= 0
}

// ownerSourceOK: p's source is registered on its ingress to org.
func (m *refModel) ownerSourceOK(p *refPkt, in ingressID, org int) bool {
	ing, ok := m.ingresses[in]
	return ok && !ing.services && m.sourceOrg(ing, p.src) == org
}

// sourceOrg is the organisation owning a's longest registered prefix on
// the ingress, or -1.
func (m *refModel) sourceOrg(ing refIngress, a netip.Addr) int {
	org, best := -1, -1
	for _, s := range m.pol.Ingresses[ing.id].Sources {
		if s.Prefix.Contains(a) && s.Prefix.Bits() > best {
			org, best = s.Org, s.Prefix.Bits()
		}
	}
	return org
}

// replyIngressOK: a flow's replies come in where the first one did, and
// that one where the route to the far end leads (recorded when record).
func (m *refModel) replyIngressOK(f *refFlow, far netip.Addr, p *refPkt, in ingressID, record bool) bool {
	if f.reply.ifindex != 0 {
		return f.reply == in
	}
	if !m.rpf(far, p, in) {
		return false
	}
	if record {
		f.reply = in
	}
	return true
}
