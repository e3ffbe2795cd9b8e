package policy

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/palisade-psn/palisade/pkg/rules"
)

// Explanation is Decide's answer in the words `palisade explain` prints.
type Explanation struct {
	Flow    string `json:"flow"`
	Ingress string `json:"ingress"` // interface[.vlan[.inner]] the packet is taken to arrive on
	Verdict string `json:"verdict"` // allow, inspect or drop
	Org     string `json:"organisation,omitempty"`
	Rule    string `json:"rule,omitempty"`   // org/id, or remediation/service
	Reason  string `json:"reason,omitempty"` // drop reason, as the datapath counts it
	Why     string `json:"why"`
	At      string `json:"at,omitempty"` // file:line:col of the deciding rule
	// Narrowing is why the organisation is held to remediation although
	// its rule file does not suspend it (runtime state), when it is.
	Narrowing *Narrowing `json:"narrowing,omitempty"`
	// PolicyDigest is the policy's (what `palisade validate` prints for its
	// rules), StateDigest the one with the runtime narrowing that decided.
	PolicyDigest string `json:"policy_digest"`
	StateDigest  string `json:"state_digest"`
}

// QueryOf turns an operator's flow into the datapath's view of its first
// packet. A flow without an interface is placed on the ingress where its
// source is registered (the longest registered prefix); if there is none,
// the query keeps no interface and Decide answers unknown_ingress.
func (c *Compiled) QueryOf(f rules.Flow) Query {
	q := Query{Interface: f.Interface, VLAN: f.VLAN, InnerVLAN: f.InnerVLAN, Src: f.Src, Dst: f.Dst, Port: f.Port}
	switch {
	case f.Proto == rules.ProtoICMP && f.Dst.Is6():
		q.Proto, q.Port = ProtoICMPv6, 0
	case f.Proto == rules.ProtoICMP:
		q.Proto, q.Port = ProtoICMP, 0
	default:
		q.Proto = uint8(f.Proto)
	}
	if q.Interface == "" {
		if in := c.ingressOwning(f.Src); in != nil {
			q.Interface, q.VLAN, q.InnerVLAN = in.Interface, in.VLAN, in.InnerVLAN
		}
	}
	return q
}

func (c *Compiled) ingressOwning(a netip.Addr) *Ingress {
	var best *Ingress
	bits := -1
	for i := range c.Ingresses {
		for _, s := range c.Ingresses[i].Sources {
			if s.Prefix.Contains(a) && s.Prefix.Bits() > bits {
				best, bits = &c.Ingresses[i], s.Prefix.Bits()
			}
		}
	}
	return best
}

// Explain decides f and says why.
func (c *Compiled) Explain(f rules.Flow) Explanation {
	q := c.QueryOf(f)
	d := c.Decide(q)
	e := Explanation{Flow: f.String(), Ingress: ingressName(q.Interface, q.VLAN, q.InnerVLAN), Verdict: d.Verdict.String(),
		Org: d.Org, Reason: d.Reason, PolicyDigest: c.PolicyDigest, StateDigest: c.Digest}
	if d.Rule >= 0 {
		r := c.Rules[d.Rule]
		e.Rule, e.At = r.Name, r.Pos.String()
	}
	if n, ok := c.NarrowingOf(d.Org); ok {
		e.Narrowing = &n
	}
	e.Why = c.why(q, d, e, f)
	return e
}

// suspendedAs says how e's organisation came to be suspended.
func suspendedAs(e Explanation) string {
	if e.Narrowing == nil {
		return e.Org + " is suspended in its rule file"
	}
	if e.Narrowing.Cause == CauseCertificateExpired {
		return e.Org + " is narrowed to remediation: " + e.Narrowing.String()
	}
	return e.Org + " is " + e.Narrowing.String()
}

// ownRule says what the organisation's own rules would do with q were it
// not suspended: what restoring it would change for this flow.
func (c *Compiled) ownRule(q Query, org string) string {
	for _, o := range c.Orgs {
		if o.ID != org {
			continue
		}
		if r, ok := c.lookup(o.Ruleset, q); ok {
			return fmt.Sprintf("; its own rule %s would allow it once restored", c.Rules[r].Name)
		}
	}
	return ""
}

func (c *Compiled) why(q Query, d Decision, e Explanation, f rules.Flow) string {
	switch d.Reason {
	case ReasonUnknownIngress:
		if q.Interface == "" {
			return fmt.Sprintf("%s is registered to no organisation on any ingress", q.Src)
		}
		return fmt.Sprintf("no organisation comes in on %s", e.Ingress)
	case ReasonNoFlow:
		return fmt.Sprintf("%s faces the services (no organisation comes in on it): only replies to flows opened from an organisation's side enter there", e.Ingress)
	case ReasonSpoofedSource:
		return fmt.Sprintf("%s is not registered for any organisation on %s: spoofed", q.Src, e.Ingress)
	case ReasonNoRule:
		return fmt.Sprintf("%s has no rule allowing %s", d.Org, destination(f))
	case ReasonSuspended:
		return fmt.Sprintf("%s and keeps only the remediation services; none allows this%s", suspendedAs(e), c.ownRule(q, d.Org))
	}
	r := c.Rules[d.Rule]
	if r.Org == "" {
		return fmt.Sprintf("%s; remediation service %s is allowed", suspendedAs(e), r.ID)
	}
	if r.Agreement != "" && !r.Until.IsZero() {
		return fmt.Sprintf("data-sharing agreement %s allows it until %s (rule %s)", r.Agreement, r.Until.UTC().Format(time.RFC3339), r.Name)
	}
	if r.Agreement != "" {
		return fmt.Sprintf("data-sharing agreement %s allows it (rule %s)", r.Agreement, r.Name)
	}
	if d.Verdict == Inspect {
		return fmt.Sprintf("rule %s allows it once the inspector sees an allowed host name", r.Name)
	}
	return fmt.Sprintf("rule %s allows it", r.Name)
}

func ingressName(iface string, vlan, inner uint16) string {
	switch {
	case iface == "":
		return "(none)"
	case inner != 0:
		return fmt.Sprintf("%s.%d.%d", iface, vlan, inner)
	case vlan != 0:
		return fmt.Sprintf("%s.%d", iface, vlan)
	}
	return iface
}

func destination(f rules.Flow) string {
	if f.Proto == rules.ProtoICMP {
		return "ping to " + f.Dst.String()
	}
	return fmt.Sprintf("%s to %s", f.Proto, netip.AddrPortFrom(f.Dst, f.Port))
}
