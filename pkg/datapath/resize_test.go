package datapath

import (
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
)

// TestTablesGrowWithThePolicy starts with small prefix tables, publishes a
// policy that needs more while the program is attached, and checks that the
// tables grew (pinned too), that the link runs the reloaded program, that
// its decisions are still Decide's, and that a restarted datapath takes the
// grown tables over.
func TestTablesGrowWithThePolicy(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/policy")
	if got := h.dp.Maps().Dests.MaxEntries(); got != initialSize {
		t.Fatalf("fresh dests table holds %d, want %d", got, initialSize)
	}
	if err := h.ns.Do(func() error { _, err := h.dp.Attach("svc0", Native); return err }); err != nil {
		t.Fatal(err)
	}
	before := linkProgram(t, h)
	cfg, err := h.dp.readConfig()
	if err != nil {
		t.Fatal(err)
	}
	enforced := entriesOfGen(t, h.dp, uint8(cfg.ActiveGen))

	big := syntheticPolicy(40, 150, 3) // 6,000 destinations a generation
	h.policy = policy.Compile(big)
	h.routeSources(h.policy)
	if err := h.ns.Do(func() error { _, err := h.dp.Publish(h.policy, testIfaces); return err }); err != nil {
		t.Fatalf("publish the larger policy: %v", err)
	}
	grown := h.dp.Maps().Dests.MaxEntries()
	if grown <= initialSize {
		t.Fatalf("dests table still holds %d after a policy of 6,000 destinations", grown)
	}
	pinned, err := ebpf.LoadPinnedMap(filepath.Join(h.dp.PinPath(), "dests"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if pinned.MaxEntries() != grown {
		t.Errorf("pinned dests holds %d, the loaded one %d", pinned.MaxEntries(), grown)
	}
	pinned.Close()
	// The generation in force until the flip was copied whole into the
	// larger tables the link switched to before the flip.
	if got := entriesOfGen(t, h.dp, uint8(cfg.ActiveGen)); got != enforced {
		t.Errorf("the previous generation's entries after the growth: %v, before it %v", got, enforced)
	}
	after := linkProgram(t, h)
	info, err := h.dp.Program().Info()
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := info.ID(); after == before || after != id {
		t.Errorf("link runs program %d (before the growth %d), the datapath's is %d", after, before, id)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	compare(t, h, rng, 30000, 400, func() policy.Query { return ruleQuery(rng, big) })

	// A restart reuses the grown tables rather than refusing them.
	pin := h.dp.PinPath()
	h.dp.Close()
	h.dp, err = Open(Options{PinPath: pin, FlowTableSize: 4096})
	if err != nil {
		t.Fatalf("reopen over grown tables: %v", err)
	}
	if got := h.dp.Maps().Dests.MaxEntries(); got != grown {
		t.Errorf("reopened dests holds %d, want the grown %d", got, grown)
	}
}

// entriesOfGen counts gen's entries in the prefix tables.
func entriesOfGen(t *testing.T, dp *Datapath, gen uint8) (n [3]int) {
	t.Helper()
	m := dp.Maps()
	errs := []error{
		walk(m.Sources, func(k *BoundaryPalSrcKey, _ *uint32) bool { n[0] += b2i(k.Gen == gen); return true }),
		walk(m.Dests, func(k *BoundaryPalDstKey, _ *BoundaryPalDst) bool { n[1] += b2i(k.Gen == gen); return true }),
		walk(m.Blocks, func(_ *uint32, s *BoundaryPalBlockSlot) bool {
			n[2] += b2i(s.Key.Family != 0 && s.Key.Gen == gen)
			return true
		}),
	}
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n == [3]int{} {
		t.Fatalf("generation %d has no entries", gen)
	}
	return n
}

// linkProgram is the program ID the pinned link of svc0 runs.
func linkProgram(t *testing.T, h *harness) ebpf.ProgramID {
	t.Helper()
	l, err := link.LoadPinnedLink(h.dp.linkPin("svc0"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	info, err := l.Info()
	if err != nil {
		t.Fatal(err)
	}
	return info.Program
}

// ruleQuery draws a query of syntheticPolicy p: from an organisation
// behind org0 to one of its rules' destinations on the rule's port, or to
// another host of that /24, or somewhere else on any port.
func ruleQuery(rng *rand.Rand, p *rules.Policy) policy.Query {
	o := p.Orgs[2*rng.IntN(len(p.Orgs)/2)] // the ones behind org0
	r := o.Allow[rng.IntN(len(o.Allow))]
	q := policy.Query{Interface: "org0", Src: o.Prefixes[0].Addr().Next(), Dst: r.To[0].Addr(), Port: r.Ports[0].Lo}
	switch rng.IntN(3) {
	case 0: // another host of the rule's /24, on its port: mostly not its prefix
		b := q.Dst.As4()
		q.Dst = netip.AddrFrom4([4]byte{b[0], b[1], b[2], byte(rng.IntN(256))})
	case 1: // somewhere else
		q.Dst = netip.AddrFrom4([4]byte{198, 19, byte(rng.IntN(256)), byte(rng.IntN(256))})
		q.Port = uint16(1 + rng.IntN(60000))
	}
	return q
}
