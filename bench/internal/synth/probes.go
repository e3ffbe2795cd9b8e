package synth

import (
	"fmt"
	"math/rand/v2"
	"net/netip"

	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
)

// Tuple is the 5-tuple of a probe packet.
type Tuple struct {
	Src, Dst     netip.Addr
	Proto        uint8 // policy.ProtoTCP or policy.ProtoUDP
	SPort, DPort uint16
}

// Probes are the packets whose cost the benchmark measures, for one family.
type Probes struct {
	Allowed   Tuple // opens (then continues) an allowed TCP flow
	Decision  Tuple // allowed destination, refused port: every lookup, then drop
	Refused   Tuple // destination in none of the organisation's rules
	Inspected Tuple // matches a rule flagged for inspection
}

// refusedPorts is where refused ports are drawn from: rules use ports up
// to 49151 only, so these are never allowed (and Decide confirms it).
const refusedPortBase, refusedPortSpan = 50000, 10000

// Probes picks the probe packets of family fam (4 or 6) and checks each
// against the compiled policy, so a probe never measures the wrong path.
func (s *Set) Probes(c *policy.Compiled, ingress string, fam int) (Probes, error) {
	allow, insp := -1, -1
	for j, r := range s.Rules {
		if allow < 0 && r.Org == 0 && r.Proto == rules.ProtoTCP && !r.Inspect {
			allow = j
		}
		if insp < 0 && r.Inspect {
			insp = j
		}
	}
	if allow < 0 || insp < 0 {
		return Probes{}, fmt.Errorf("synthetic set of %d rules has no TCP rule for org 0 or no inspected rule", len(s.Rules))
	}
	p := Probes{
		Allowed:   s.tuple(allow, fam, 40000, s.Rules[allow].Port),
		Decision:  s.tuple(allow, fam, 40001, refusedPortBase),
		Inspected: s.tuple(insp, fam, 40002, 443),
	}
	p.Refused = p.Decision
	p.Refused.Dst = netip.MustParseAddr("198.18.200.1") // no rule reaches 198.18.128.0/17
	if fam == 6 {
		p.Refused.Dst = netip.MustParseAddr("2001:db8:2::1")
	}
	checks := []struct {
		what string
		t    Tuple
		want policy.Verdict
	}{{"allowed", p.Allowed, policy.Allow}, {"decision", p.Decision, policy.Drop},
		{"refused", p.Refused, policy.Drop}, {"inspected", p.Inspected, policy.Inspect}}
	for _, ch := range checks {
		if err := expect(c, ingress, ch.t, ch.want); err != nil {
			return Probes{}, fmt.Errorf("%s probe (IPv%d): %w", ch.what, fam, err)
		}
	}
	return p, nil
}

// RefusedIPv4 draws n refused IPv4 tuples spread over the whole set: each
// from a random host of a rule's organisation to a random host the rule
// allows, on a port it does not. Every one takes the full decision path.
func (s *Set) RefusedIPv4(c *policy.Compiled, ingress string, n int) ([]Tuple, error) {
	return s.Spread(c, ingress, 4, n, false)
}

// Spread draws n tuples of family fam spread over the whole set, each from
// a random host of a random rule's organisation to a random host the rule
// allows: on the rule's own port when allowed (TCP rules not inspected
// only, so that every tuple opens a flow its ACKs then hit), on a port it
// does not allow otherwise (refused with no_rule after every lookup).
// Policy.Decide confirms each one.
func (s *Set) Spread(c *policy.Compiled, ingress string, fam, n int, allowed bool) ([]Tuple, error) {
	rng := rand.New(rand.NewPCG(Seed, uint64(len(s.Rules))))
	want := policy.Drop
	if allowed {
		want = policy.Allow
	}
	out := make([]Tuple, 0, n)
	for tries := 0; len(out) < n; tries++ {
		if tries > 100*n {
			return nil, fmt.Errorf("%d rules give too few TCP rules to draw %d allowed tuples", len(s.Rules), n)
		}
		j := rng.IntN(len(s.Rules))
		r := s.Rules[j]
		if allowed && (r.Proto != rules.ProtoTCP || r.Inspect) {
			continue
		}
		src, dst := OrgSource4(r.Org), r.Dst4
		if fam == 6 {
			src, dst = OrgSource6(r.Org), r.Dst6
		}
		t := Tuple{
			Src: randomHost(rng, src), Dst: randomHost(rng, dst), Proto: uint8(r.Proto),
			SPort: uint16(1024 + rng.IntN(64000)),
			DPort: uint16(refusedPortBase + rng.IntN(refusedPortSpan)),
		}
		if allowed {
			t.DPort = r.Port
		}
		if err := expect(c, ingress, t, want); err != nil {
			return nil, fmt.Errorf("tuple %d (rule %d): %w", len(out), j, err)
		}
		out = append(out, t)
	}
	return out, nil
}

func (s *Set) tuple(j, fam int, sport, dport uint16) Tuple {
	r := s.Rules[j]
	t := Tuple{Proto: uint8(r.Proto), SPort: sport, DPort: dport}
	t.Src, t.Dst = OrgSource4(r.Org).Addr().Next(), r.Dst4.Addr()
	if fam == 6 {
		t.Src, t.Dst = OrgSource6(r.Org).Addr().Next(), r.Dst6.Addr()
	}
	return t
}

func expect(c *policy.Compiled, ingress string, t Tuple, want policy.Verdict) error {
	d := c.Decide(policy.Query{Interface: ingress, Src: t.Src, Dst: t.Dst, Proto: t.Proto, Port: t.DPort})
	if d.Verdict != want || (want == policy.Drop && d.Reason != policy.ReasonNoRule) {
		return fmt.Errorf("%v -> %v proto %d port %d: policy says %v (%s), want %v",
			t.Src, t.Dst, t.Proto, t.DPort, d.Verdict, d.Reason, want)
	}
	return nil
}

// randomHost is a random address inside p.
func randomHost(rng *rand.Rand, p netip.Prefix) netip.Addr {
	b := p.Addr().As16()
	for bit := p.Bits() + 128 - p.Addr().BitLen(); bit < 128; bit++ {
		if rng.IntN(2) == 1 {
			b[bit/8] |= 0x80 >> (bit % 8)
		}
	}
	a := netip.AddrFrom16(b)
	if p.Addr().Is4() {
		return a.Unmap()
	}
	return a
}
