package datapath

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/google/gopacket/layers"
	"github.com/palisade-psn/palisade/internal/packets"
	"github.com/palisade-psn/palisade/pkg/policy"
)

// TestDatapathAgreesWithPolicy runs random first packets through both the
// userspace evaluator (what `palisade explain` uses) and the XDP program:
// same verdict, same drop reason, every time.
func TestDatapathAgreesWithPolicy(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/policy")
	rng := rand.New(rand.NewPCG(1, 2))
	compareRandom(t, h, rng, 10000, 3000)
	// Suspension and restoration written straight into the active
	// generation (palisade org suspend/restore) are decision inputs too.
	alpha, beta := orgIndex(t, h.policy, "alpha"), orgIndex(t, h.policy, "beta")
	for _, flip := range []struct {
		org       int
		suspended bool
	}{{alpha, true}, {beta, false}} {
		if err := h.dp.SetOrgSuspended(flip.org, flip.suspended); err != nil {
			t.Fatal(err)
		}
		h.policy.Orgs[flip.org].Suspended = flip.suspended
	}
	compareRandom(t, h, rng, 20000, 1000) // fresh source ports: no flow of the first round applies
}

// compareRandom runs n random first packets, source ports from sportBase,
// through Decide and the program.
func compareRandom(t *testing.T, h *harness, rng *rand.Rand, sportBase, n int) {
	t.Helper()
	pick := func(s []string) netip.Addr { return netip.MustParseAddr(s[rng.IntN(len(s))]) }
	srcs4 := []string{"198.18.1.1", "198.18.1.254", "198.18.2.9", "198.18.3.1", "198.18.3.200", "198.18.9.9"}
	srcs6 := []string{"2001:db8:1::1", "2001:db8:1:ffff::1", "2001:db8:2::9", "2001:db8:3::3", "2001:db8:9::9"}
	dsts4 := []string{"198.19.10.1", "198.19.10.255", "198.19.11.1", "198.19.20.10", "198.19.20.11", "198.19.40.7", "198.19.0.1", "198.18.1.5"}
	dsts6 := []string{"2001:db8:10::1", "2001:db8:10:ffff::1", "2001:db8:20::10", "2001:db8:20::11", "2001:db8:11::1"}
	ports := []uint16{22, 53, 79, 80, 81, 443, 4999, 5000, 5005, 5010, 5011, 8443}
	ingresses := []struct {
		iface string
		vlan  uint16
	}{{"org0", 0}, {"org1", 0}, {"org1", 100}, {"org1", 200}}
	compare(t, h, rng, sportBase, n, func() policy.Query {
		in := ingresses[rng.IntN(len(ingresses))]
		src, dst := pick(srcs4), pick(dsts4)
		if rng.IntN(3) == 0 {
			src, dst = pick(srcs6), pick(dsts6)
		}
		return policy.Query{Interface: in.iface, VLAN: in.vlan, Src: src, Dst: dst, Port: ports[rng.IntN(len(ports))]}
	})
}

// compare runs n first packets drawn by draw (protocol chosen here)
// through Decide and the program: same verdict, a drop counted under the
// reason Decide gives, and a TCP or UDP flow let through recorded under
// the rule Decide names.
func compare(t *testing.T, h *harness, rng *rand.Rand, sportBase, n int, draw func() policy.Query) {
	t.Helper()
	for i := 0; i < n; i++ {
		q := draw()
		spec := randomFirstPacket(rng, &q, uint16(sportBase+i))
		if q.VLAN != 0 {
			spec.VLANs = []uint16{q.VLAN}
		}
		want := h.policy.Decide(q)
		before := h.drops()
		got := h.run(t, q.Interface, packets.Build(spec))
		after := h.drops()
		if (want.Verdict == policy.Drop) != (got == xdpDrop) {
			t.Fatalf("query %+v: explain says %v (%s), datapath action %d", q, want.Verdict, want.Reason, got)
		}
		if want.Verdict == policy.Drop && after[want.Reason].Packets-before[want.Reason].Packets != 1 {
			t.Fatalf("query %+v: explain says drop for %s, datapath counted %v", q, want.Reason, diff(before, after))
		}
		if want.Verdict != policy.Drop && q.Proto != policy.ProtoICMP && q.Proto != policy.ProtoICMPv6 {
			checkFlowRule(t, h, q, uint16(sportBase+i), h.policy.Rules[want.Rule].Name)
		}
	}
}

// checkFlowRule says whether the flow q opened from sport counts under
// the rule named want.
func checkFlowRule(t *testing.T, h *harness, q policy.Query, sport uint16, want string) {
	t.Helper()
	k, _ := FlowKeyOf(q.Src, q.Dst, sport, q.Port, q.Proto)
	f, err := h.dp.LookupFlow(k)
	if err != nil {
		t.Fatalf("query %+v: flow of an allowed first packet: %v", q, err)
	}
	if got := h.dp.RuleName(f.RuleSlot); got != want {
		t.Fatalf("query %+v: flow counts under rule %q, Decide says %q", q, got, want)
	}
}

func randomFirstPacket(rng *rand.Rand, q *policy.Query, sport uint16) packets.Spec {
	switch rng.IntN(3) {
	case 0:
		q.Proto = policy.ProtoTCP
		return tcp(q.Src, q.Dst, sport, q.Port, packets.SYN)
	case 1:
		q.Proto = policy.ProtoUDP
		return udp(q.Src, q.Dst, sport, q.Port)
	}
	q.Proto = policy.ProtoICMP
	s := echo(q.Src, q.Dst, sport, false)
	if q.Src.Is6() {
		q.Proto = policy.ProtoICMPv6
		s.Proto = layers.IPProtocolICMPv6
	}
	return s
}

func diff(before, after map[string]Counter) map[string]uint64 {
	out := map[string]uint64{}
	for k, v := range after {
		if d := v.Packets - before[k].Packets; d != 0 {
			out[k] = d
		}
	}
	return out
}
