package datapath

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
)

// TestRandomPrefixesAgreeWithPolicy publishes random policies whose source
// and destination prefixes of many lengths crowd into a few blocks (the
// /24s and /64s the datapath summarises) next to short covering prefixes,
// then sends packets to addresses in and around them: the program's
// longest-prefix answers (block summaries, short lengths after long ones)
// must be Decide's, verdict and drop reason, every time.
func TestRandomPrefixesAgreeWithPolicy(t *testing.T) {
	h := newHarness(t)
	for seed := uint64(1); seed <= 3; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		p, near := randomPrefixPolicy(rng)
		h.policy = policy.Compile(p)
		h.routeSources(h.policy)
		if err := h.ns.Do(func() error { _, err := h.dp.Publish(h.policy, testIfaces); return err }); err != nil {
			t.Fatalf("seed %d: publish: %v", seed, err)
		}
		ports := []uint16{22, 80, 443, 8443, 9999}
		compare(t, h, rng, int(seed)*10000, 1500, func() policy.Query {
			src, dst := near(rng, true), near(rng, false)
			for src.Is4() != dst.Is4() {
				dst = near(rng, false)
			}
			return policy.Query{Interface: "org0", Src: src, Dst: dst, Port: ports[rng.IntN(len(ports))]}
		})
	}
}

// randomPrefixPolicy is three organisations on org0 with random source and
// destination prefixes, and a function drawing addresses near them.
func randomPrefixPolicy(rng *rand.Rand) (*rules.Policy, func(*rand.Rand, bool) netip.Addr) {
	blocks4 := []netip.Addr{netip.MustParseAddr("198.19.1.0"), netip.MustParseAddr("198.19.2.0"), netip.MustParseAddr("198.19.200.0")}
	blocks6 := []netip.Addr{netip.MustParseAddr("2001:db8:1:1::"), netip.MustParseAddr("2001:db8:1:2::")}
	lens4 := []int{8, 15, 16, 20, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32}
	lens6 := []int{32, 48, 56, 63, 64, 65, 72, 96, 112, 120, 127, 128}
	var srcs, dsts []netip.Prefix
	p := &rules.Policy{Dir: "random", Services: map[string]*rules.Service{}}
	for i := range 3 {
		o := &rules.Organisation{ID: fmt.Sprintf("org%d", i), Name: fmt.Sprintf("Organisation %d", i),
			Ingress: []rules.Ingress{{Interface: "org0"}}}
		// Sources: a /24 of its own with longer prefixes of the others
		// inside it, and a /64 likewise: longest match decides the owner.
		o.Prefixes = append(o.Prefixes, randomIn(rng, netip.MustParseAddr("198.18.0.0"), 24, 22+i),
			randomIn(rng, netip.MustParseAddr("198.18.0.0"), 24, 26+2*i),
			randomIn(rng, netip.MustParseAddr("2001:db8:0:7::"), 64, 60+4*i))
		srcs = append(srcs, o.Prefixes...)
		for j := range 25 {
			bits4, bits6 := lens4[rng.IntN(len(lens4))], lens6[rng.IntN(len(lens6))]
			r := rules.Rule{ID: fmt.Sprintf("r%d", j),
				To: []netip.Prefix{randomIn(rng, blocks4[rng.IntN(len(blocks4))], 24, bits4),
					randomIn(rng, blocks6[rng.IntN(len(blocks6))], 64, bits6)},
				Ports: []rules.PortRange{{Proto: rules.ProtoTCP, Lo: 80, Hi: 443}, {Proto: rules.ProtoUDP, Lo: 22, Hi: 22}}}
			if rng.IntN(2) == 0 {
				r.Ports = []rules.PortRange{{Proto: rules.ProtoTCP, Lo: 8443, Hi: 9999}}
			}
			dsts = append(dsts, r.To...)
			o.Allow = append(o.Allow, r)
		}
		p.Orgs = append(p.Orgs, o)
	}
	near := func(rng *rand.Rand, src bool) netip.Addr {
		set := dsts
		if src {
			set = srcs
		}
		pf := set[rng.IntN(len(set))]
		bits := max(pf.Bits()-rng.IntN(3), 0) // now and then just outside it
		return randomIn(rng, pf.Addr(), bits, pf.Addr().BitLen()).Addr()
	}
	return p, near
}

// randomIn is a random prefix of length bits inside base/within (or
// covering it, when bits < within).
func randomIn(rng *rand.Rand, base netip.Addr, within, bits int) netip.Prefix {
	b := base.AsSlice()
	for i := within; i < len(b)*8; i++ {
		if rng.IntN(2) == 0 {
			b[i/8] ^= 1 << (7 - i%8)
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return netip.PrefixFrom(a, bits).Masked()
}
