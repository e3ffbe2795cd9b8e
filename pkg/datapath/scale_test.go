package datapath

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/internal/packets"
	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
)

// syntheticPolicy has orgs organisations with rulesPer rules each: every
// organisation a /26 of its own behind org0, or a VLAN of org1, and rules to
// /32 and /28 destinations with single ports and small ranges.
func syntheticPolicy(orgs, rulesPer int, seed uint64) *rules.Policy {
	rng := rand.New(rand.NewPCG(seed, 7))
	p := &rules.Policy{Services: map[string]*rules.Service{}}
	for i := 0; i < orgs; i++ {
		o := &rules.Organisation{ID: fmt.Sprintf("org-%04d", i)}
		src := netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(i / 4), byte(i%4) * 64}), 26)
		o.Prefixes = []netip.Prefix{src}
		o.Ingress = []rules.Ingress{{Interface: "org0"}}
		if i%2 == 1 {
			o.Ingress = []rules.Ingress{{Interface: "org1", VLAN: uint16(1 + i)}}
		}
		for r := 0; r < rulesPer; r++ {
			dst := netip.AddrFrom4([4]byte{198, 19, byte(rng.IntN(256)), byte(rng.IntN(256))})
			bits := 32
			if r%3 == 0 {
				bits = 28
			}
			lo := uint16(1 + rng.IntN(60000))
			hi := lo
			if r%4 == 0 {
				hi = lo + uint16(rng.IntN(20))
			}
			proto := rules.ProtoTCP
			if r%5 == 0 {
				proto = rules.ProtoUDP
			}
			o.Allow = append(o.Allow, rules.Rule{
				ID:    fmt.Sprintf("r%d", r),
				To:    []netip.Prefix{netip.PrefixFrom(dst, bits).Masked()},
				Ports: []rules.PortRange{{Proto: proto, Lo: lo, Hi: hi}},
			})
		}
		p.Orgs = append(p.Orgs, o)
	}
	return p
}

// TestScale100kRules loads 100,000 rules over 1,000 organisations and
// checks a sample of packets against the userspace evaluator, which has
// to agree with the program whatever the size.
func TestScale100kRules(t *testing.T) {
	if testing.Short() {
		t.Skip("scale test: 100,000 rules")
	}
	h := newHarness(t)
	// A fair share of the 4,096-flow test table is 4 flows each: the
	// sample below opens more than that for some organisations.
	if err := h.dp.Configure(Settings{Timeouts: DefaultTimeouts(), FlowQuota: 4096}); err != nil {
		t.Fatal(err)
	}
	p := syntheticPolicy(1000, 100, 1)
	start := time.Now()
	h.policy = policy.Compile(p)
	compiled := time.Since(start)
	var res PublishResult
	h.routeSources(h.policy)
	err := h.ns.Do(func() (err error) {
		res, err = h.dp.Publish(h.policy, testIfaces)
		return err
	})
	if err != nil {
		t.Fatalf("publish 100k rules: %v", err)
	}
	t.Logf("1000 organisations, %d rules: compiled in %v, published %d entries in %v",
		len(h.policy.Rules), compiled, res.Entries, time.Since(start)-compiled)
	rng := rand.New(rand.NewPCG(3, 4))
	allowed := 0
	for i := 0; i < 2000; i++ {
		o := p.Orgs[rng.IntN(len(p.Orgs))]
		r := o.Allow[rng.IntN(len(o.Allow))]
		q := policy.Query{Interface: o.Ingress[0].Interface, VLAN: o.Ingress[0].VLAN,
			Src: o.Prefixes[0].Addr().Next(), Dst: r.To[0].Addr(), Proto: uint8(r.Ports[0].Proto), Port: r.Ports[0].Lo}
		if i%2 == 1 {
			q.Port = uint16(rng.IntN(65535) + 1) // mostly refused
		}
		spec := tcp(q.Src, q.Dst, uint16(1024+i), q.Port, packets.SYN)
		if q.Proto == policy.ProtoUDP {
			spec = udp(q.Src, q.Dst, uint16(1024+i), q.Port)
		}
		if q.VLAN != 0 {
			spec.VLANs = []uint16{q.VLAN}
		}
		want := h.policy.Decide(q)
		got := h.run(t, q.Interface, packets.Build(spec))
		if (want.Verdict == policy.Drop) != (got == xdpDrop) {
			t.Fatalf("query %+v: explain says %v (%s), datapath action %d", q, want.Verdict, want.Reason, got)
		}
		if want.Verdict != policy.Drop {
			allowed++
		}
	}
	if allowed < 900 {
		t.Errorf("only %d of 2000 sampled packets allowed; the sample should hit rules about half the time", allowed)
	}
	// What a metrics scrape reads: every rule's and organisation's counters.
	start = time.Now()
	byRule, err := h.dp.Counters().RuleCounts()
	if err != nil {
		t.Fatal(err)
	}
	byOrg, err := h.dp.Counters().OrgCounts()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("read %d rule and %d organisation counters in %v", len(byRule), len(byOrg), time.Since(start))
	var hits, seen uint64
	for _, c := range byRule {
		hits += c.Packets
	}
	for _, vs := range byOrg {
		for _, c := range vs {
			seen += c.Packets
		}
	}
	if len(byRule) != len(h.policy.Rules) || hits != uint64(allowed) || seen != 2000 {
		t.Errorf("counters: %d rules (want %d) with %d hits (want %d); organisations saw %d packets (want 2000)",
			len(byRule), len(h.policy.Rules), hits, allowed, seen)
	}
}

// TestTooLargeRefusedWhole: a policy the maps cannot hold is refused before
// any map changes, and the running policy keeps deciding.
func TestTooLargeRefusedWhole(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/policy")
	before, _ := h.dp.PolicyState()
	rulesBefore, _ := h.dp.Counters().RuleCounts()
	big := syntheticPolicy(2, 1, 9)
	for bits := 8; bits <= 32; bits++ { // 25 distinct prefix lengths: one more than the datapath probes
		big.Orgs[0].Allow = append(big.Orgs[0].Allow, rules.Rule{
			ID: fmt.Sprintf("len%d", bits), To: []netip.Prefix{netip.PrefixFrom(netip.MustParseAddr("198.19.77.1"), bits).Masked()},
			Ports: []rules.PortRange{{Proto: rules.ProtoTCP, Lo: 9, Hi: 9}},
		})
	}
	err := h.ns.Do(func() error { _, err := h.dp.Publish(policy.Compile(big), testIfaces); return err })
	if err == nil {
		t.Fatal("a policy with 25 prefix lengths in one organisation was accepted")
	}
	t.Logf("refused: %v", err)
	after, _ := h.dp.PolicyState()
	if after != before {
		t.Errorf("policy state changed from %+v to %+v", before, after)
	}
	if rulesAfter, _ := h.dp.Counters().RuleCounts(); len(rulesAfter) != len(rulesBefore) {
		t.Errorf("rule counter registry changed: %d names, was %d", len(rulesAfter), len(rulesBefore))
	}
	runCases(t, h, []verdictCase{
		{"old policy still allows", "org0", tcp(alpha4, web4, 46001, 443, packets.SYN), xdpPass, ""},
		{"old policy still refuses", "org0", tcp(alpha4, web4, 46002, 22, packets.SYN), xdpDrop, "no_rule"},
	})
}
