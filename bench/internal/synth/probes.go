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
	rng := rand.New(rand.NewPCG(Seed, uint64(len(s.Rules))))
	out := make([]Tuple, n)
	for k := range out {
		j := rng.IntN(len(s.Rules))
		r := s.Rules[j]
		t := Tuple{
			Src:   randomHost(rng, OrgSource4(r.Org)),
			Dst:   randomHost(rng, r.Dst4),
			Proto: uint8(r.Proto),
			SPort: uint16(1024 + rng.IntN(64000)),
			DPort: uint16(refusedPortBase + rng.IntN(refusedPortSpan)),
		}
		if err := expect(c, ingress, t, policy.Drop); err != nil {
			return nil, fmt.Errorf("refused tuple %d (rule %d): %w", k, j, err)
		}
		out[k] = t
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

// randomHost is a random address inside an IPv4 prefix.
func randomHost(rng *rand.Rand, p netip.Prefix) netip.Addr {
	b := p.Addr().As4()
	host := rng.Uint32() & (uint32(1)<<(32-p.Bits()) - 1)
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
