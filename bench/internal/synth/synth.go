// Package synth makes the synthetic policies the benchmark runs against:
// 1,000 organisations behind one ingress, each known by its own source
// prefix, and any number of allow rules spread over them, with realistic
// destinations (/24 to /32, mostly hosts) and service ports.
//
// Rule j is drawn from its own seeded generator, so a smaller rule set is
// exactly the first rules of a larger one: growth from 10 to 100,000 rules
// changes only how many other rules there are, never the probed ones.
package synth

import (
	"math/rand/v2"
	"net/netip"

	"github.com/palisade-psn/palisade/pkg/rules"
)

// Orgs is how many organisations every synthetic policy has.
const Orgs = 1000

// Seed fixes the rule sets, so runs on different machines compare.
const Seed = 0x9a115ade

// Rule is one allow rule: an organisation may reach a destination (one
// IPv4 and one IPv6 prefix, like a dual-stack service) on one port.
type Rule struct {
	Org        int
	Dst4, Dst6 netip.Prefix
	Proto      rules.Proto
	Port       uint16
	Inspect    bool // flagged for the inspector (every 20th rule)
}

// Set is a synthetic rule set.
type Set struct {
	Rules []Rule
}

// Generate makes a set of n rules over Orgs organisations.
func Generate(n int) *Set {
	s := &Set{Rules: make([]Rule, n)}
	for j := range s.Rules {
		s.Rules[j] = rule(j)
	}
	return s
}

// v4Lens weighs destination prefix lengths: mostly single hosts, some
// small subnets, a few /24s, as allowlists towards services look.
var v4Lens = []struct{ bits, weight int }{
	{32, 60}, {31, 5}, {30, 8}, {29, 7}, {28, 8}, {27, 4}, {26, 4}, {25, 2}, {24, 2},
}

// commonPorts are services organisations are typically allowed to reach.
var commonPorts = []struct {
	port  uint16
	proto rules.Proto
}{
	{443, rules.ProtoTCP}, {80, rules.ProtoTCP}, {22, rules.ProtoTCP}, {53, rules.ProtoUDP},
	{123, rules.ProtoUDP}, {389, rules.ProtoTCP}, {636, rules.ProtoTCP}, {3389, rules.ProtoTCP},
	{8080, rules.ProtoTCP}, {8443, rules.ProtoTCP}, {5432, rules.ProtoTCP}, {1433, rules.ProtoTCP},
	{25, rules.ProtoTCP}, {587, rules.ProtoTCP}, {993, rules.ProtoTCP}, {3306, rules.ProtoTCP},
	{6443, rules.ProtoTCP}, {514, rules.ProtoUDP}, {161, rules.ProtoUDP}, {1812, rules.ProtoUDP},
}

func rule(j int) Rule {
	rng := rand.New(rand.NewPCG(Seed, uint64(j)))
	bits := pickLen(rng)
	r := Rule{
		Org:  j % Orgs,
		Dst4: netip.PrefixFrom(addr4(198, 19, rng.Uint32()), bits).Masked(),
		Dst6: netip.PrefixFrom(addr6(0x0001, rng.Uint64(), rng.Uint64()), 128-(32-bits)*8).Masked(),
	}
	if rng.IntN(10) < 6 {
		c := commonPorts[rng.IntN(len(commonPorts))]
		r.Port, r.Proto = c.port, c.proto
	} else {
		r.Port, r.Proto = uint16(1024+rng.IntN(48128)), rules.ProtoTCP // up to 49151
		if rng.IntN(10) == 0 {
			r.Proto = rules.ProtoUDP
		}
	}
	if j%20 == 7 {
		r.Inspect, r.Proto, r.Port = true, rules.ProtoTCP, 443
	}
	return r
}

func pickLen(rng *rand.Rand) int {
	n := rng.IntN(100)
	for _, l := range v4Lens {
		if n < l.weight {
			return l.bits
		}
		n -= l.weight
	}
	return 32
}

// OrgSource4 is organisation i's IPv4 source prefix: a /27 of 198.18.0.0/17.
func OrgSource4(i int) netip.Prefix {
	return netip.PrefixFrom(addr4(198, 18, uint32(i)*32), 27)
}

// OrgSource6 is organisation i's IPv6 source prefix: 2001:db8:0:i::/64.
func OrgSource6(i int) netip.Prefix {
	return netip.PrefixFrom(addr6(0, uint64(i), 0), 64)
}

// addr4 is a.b.x.y with x.y from the low 16 bits of low.
func addr4(a, b byte, low uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{a, b, byte(low >> 8), byte(low)})
}

// addr6 is 2001:db8:net:sub::/64 + iid, sub and iid from the arguments.
func addr6(net uint16, sub, iid uint64) netip.Addr {
	var b [16]byte
	b[0], b[1], b[2], b[3] = 0x20, 0x01, 0x0d, 0xb8
	b[4], b[5] = byte(net>>8), byte(net)
	b[6], b[7] = byte(sub>>8), byte(sub)
	for k := 0; k < 8; k++ {
		b[15-k] = byte(iid >> (8 * k))
	}
	return netip.AddrFrom16(b)
}
