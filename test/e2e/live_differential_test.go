package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/google/gopacket/layers"
	"github.com/palisade-psn/palisade/internal/packets"
	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
)

// TestLiveExplainAgreesWithTheDatapath holds the running agent's answer
// (POST /v1/explain, what `palisade explain` and `palisade test` print)
// to the program it has attached, through runtime state: random first
// packets go through both (BPF_PROG_RUN of the live program in the
// gateway's namespace) with nothing narrowed, with an organisation
// suspended, after a certificate lapsed and an agreement expired while
// the agent ran, and after the suspension is lifted: the same verdict,
// and a drop counted under the reason explain gives, every time.
func TestLiveExplainAgreesWithTheDatapath(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces and BPF")
	}
	due := time.Now().Add(30 * time.Second).UTC()
	at := due.Format(time.RFC3339)
	dir := rulesVariant(t, map[string][2]string{
		"organisations/mole-valley-dc.yaml": {"state: active\n", "state: active\ncertificate: {expires: " + at + "}\n"},
		"organisations/surrey-cc.yaml":      {"expires: 2027-03-31", "expires: " + at},
		"organisations/surrey-police.yaml":  {"expires: 2027-03-31", "expires: " + at},
	})
	g := startLabRules(t, dir, "", "watch_rules: false\ncompliance_check: 1s\n")
	d := newLiveDiff(t, g)

	d.phase(t, "nothing narrowed", 0)
	g.cli(t, "org", "suspend", "surrey-police", "--reason", "differential")
	d.phase(t, "surrey-police suspended", 1)
	if time.Now().After(due) {
		t.Fatal("the lab took longer than the certificate's 30 s to come up: the phases before it did not run as written")
	}
	if !eventually(due.Sub(time.Now())+20*time.Second, func() bool {
		b := d.boundary(t)
		return len(b.Pending) == 0 && len(b.Narrowed) == 2 && time.Now().After(due)
	}) {
		t.Fatalf("the lapse and the agreement's expiry were not applied: %+v", d.boundary(t))
	}
	d.phase(t, "certificate lapsed, agreement expired, surrey-police suspended", 2)
	g.cli(t, "org", "restore", "surrey-police")
	d.phase(t, "certificate lapsed, agreement expired", 3)
	if d.seen[policy.ReasonSuspended] == 0 || d.seen["allow"] == 0 || d.seen[policy.ReasonNoRule] == 0 || d.seen[policy.ReasonSpoofedSource] == 0 {
		t.Errorf("the draws missed a kind of answer: %v", d.seen)
	}
	if d.agreement[0] == 0 || d.agreement[1] != 0 {
		t.Errorf("agreement rules decided before and after expiry: %v (want some, then none)", d.agreement)
	}
}

// liveDiff runs flows through the agent's explain and its live program.
type liveDiff struct {
	g         *gatewayLab
	rng       *rand.Rand
	sport     uint16
	ifindex   map[string]int
	cases     []rules.Flow   // rules/tests.yaml's flows: every rule's, agreements' too
	seen      map[string]int // answers seen: allow/inspect, or the drop reason
	agreement [2]int         // agreement rules deciding, before and after expiry
}

func newLiveDiff(t *testing.T, g *gatewayLab) *liveDiff {
	d := &liveDiff{g: g, rng: rand.New(rand.NewPCG(19, 1)), sport: 20000, ifindex: map[string]int{}, seen: map[string]int{}}
	p, err := rules.Load("../../rules")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range p.Tests {
		if tc.Flow.Interface != "" {
			d.cases = append(d.cases, tc.Flow)
		}
	}
	for _, ifname := range g.gw.GWIfs {
		i, err := g.gw.GW.Ifindex(ifname)
		if err != nil {
			t.Fatal(err)
		}
		d.ifindex[ifname] = i
	}
	return d
}

// draw is a random first packet over the lab's ingresses, sources (owned,
// another organisation's, nobody's) and services, or one of the example
// rules' expectation cases, which reach every rule.
func (d *liveDiff) draw() rules.Flow {
	if d.rng.IntN(3) == 0 {
		return d.cases[d.rng.IntN(len(d.cases))]
	}
	type in struct {
		iface string
		vlan  uint16
	}
	ins := []in{{"org0", 0}, {"org1", 0}, {"org1", 300}, {"org1", 200}, {"svc0", 0}}
	srcs := [][2]string{{"198.18.1.10", "2001:db8:1::10"}, {"198.18.2.10", "2001:db8:2::10"}, {"198.18.3.10", "2001:db8:3::10"},
		{"198.18.4.10", "2001:db8:4::10"}, {"198.18.5.10", "2001:db8:5::10"}, {"198.18.9.9", "2001:db8:9::9"}}
	dsts := [][2]string{{"198.19.10.10", "2001:db8:10::10"}, {"198.19.20.10", "2001:db8:20::10"}, {"198.19.20.20", "2001:db8:20::20"},
		{"198.19.20.53", "2001:db8:20::53"}, {"198.19.20.123", "2001:db8:20::53"}, {"198.19.11.10", "2001:db8:11::10"},
		{"198.18.1.10", "2001:db8:1::10"}, {"198.18.3.10", "2001:db8:3::10"}}
	ports := []uint16{22, 53, 80, 123, 443, 2575, 5005, 8080, 8443}
	i := ins[d.rng.IntN(len(ins))]
	// Mostly a source its ingress owns, so that rules decide.
	s := srcs[d.rng.IntN(len(srcs))]
	if d.rng.IntN(3) > 0 {
		s = map[in][2]string{{"org0", 0}: srcs[d.rng.IntN(2)], {"org1", 0}: srcs[2], {"org1", 300}: srcs[3],
			{"org1", 200}: srcs[4], {"svc0", 0}: srcs[0]}[i]
	}
	dst := dsts[d.rng.IntN(len(dsts))]
	fam := d.rng.IntN(3) / 2 // a third IPv6
	f := rules.Flow{Interface: i.iface, VLAN: i.vlan, Src: netip.MustParseAddr(s[fam]), Dst: netip.MustParseAddr(dst[fam]),
		Port: ports[d.rng.IntN(len(ports))]}
	switch d.rng.IntN(4) {
	case 0:
		f.Proto = rules.ProtoUDP
	case 1:
		f.Proto, f.Port = rules.ProtoICMP, 0
	default:
		f.Proto = rules.ProtoTCP
	}
	return f
}

func (d *liveDiff) boundary(t *testing.T) control.Boundary {
	t.Helper()
	var ans control.ExplainAnswer
	if err := control.NewClient(d.g.agent.Socket).Post("/v1/explain", control.ExplainRequest{Flows: []rules.Flow{}}, &ans); err != nil {
		t.Fatal(err)
	}
	return ans.Boundary
}

// phase compares 400 flows; a batch during which the agent's state moved
// (the compliance check) is drawn again.
func (d *liveDiff) phase(t *testing.T, name string, n int) {
	t.Helper()
	for try := 0; try < 3; try++ {
		flows := make([]rules.Flow, 400)
		for i := range flows {
			flows[i] = d.draw()
		}
		var ans control.ExplainAnswer
		if err := control.NewClient(d.g.agent.Socket).Post("/v1/explain", control.ExplainRequest{Flows: flows}, &ans); err != nil {
			t.Fatal(err)
		}
		prog := livePrograms(t, d.g)
		pinned, err := datapath.OpenPinned(d.g.agent.PinPath)
		if err != nil {
			t.Fatal(err)
		}
		for i, f := range flows {
			d.compare(t, name, prog, pinned, f, ans.Explanations[i], n >= 2)
		}
		prog.Close()
		pinned.Close()
		if after := d.boundary(t); after.StateDigest == ans.Boundary.StateDigest && after.PolicyDigest == ans.Boundary.PolicyDigest {
			t.Logf("%s: 400 flows agree (state digest %.16s, %d narrowed)", name, ans.Boundary.StateDigest, len(ans.Boundary.Narrowed))
			return
		}
	}
	t.Fatalf("%s: the agent's state kept moving under three batches", name)
}

func (d *liveDiff) compare(t *testing.T, phase string, prog *ebpf.Program, pinned *datapath.Pinned, f rules.Flow, e policy.Explanation, expired bool) {
	t.Helper()
	d.sport++
	spec := packets.Spec{Src: f.Src, Dst: f.Dst, SPort: d.sport, DPort: f.Port}
	switch {
	case f.Proto == rules.ProtoTCP:
		spec.Proto, spec.Flags = layers.IPProtocolTCP, packets.SYN
	case f.Proto == rules.ProtoUDP:
		spec.Proto = layers.IPProtocolUDP
	case f.Dst.Is6():
		spec.Proto, spec.ICMPID, spec.DPort = layers.IPProtocolICMPv6, d.sport, 0
	default:
		spec.Proto, spec.ICMPID, spec.DPort = layers.IPProtocolICMPv4, d.sport, 0
	}
	if f.VLAN != 0 {
		spec.VLANs = []uint16{f.VLAN}
	}
	before, err := pinned.Counters().DropCounts()
	if err != nil {
		t.Fatal(err)
	}
	frame := packets.Build(spec)
	var ret uint32
	err = d.g.gw.GW.Do(func() (err error) {
		ret, err = prog.Run(&ebpf.RunOptions{Data: frame,
			Context: xdpMD{DataEnd: uint32(len(frame)), IngressIfindex: uint32(d.ifindex[f.Interface])}})
		return err
	})
	if err != nil {
		t.Fatalf("run the live program: %v", err)
	}
	after, err := pinned.Counters().DropCounts()
	if err != nil {
		t.Fatal(err)
	}
	const xdpDrop = 1
	if (e.Verdict == "drop") != (ret == xdpDrop) {
		t.Fatalf("%s: %s: explain says %s (%s: %s), the datapath's action is %d", phase, f, e.Verdict, e.Reason, e.Why, ret)
	}
	if e.Verdict == "drop" && after[e.Reason].Packets-before[e.Reason].Packets != 1 {
		t.Fatalf("%s: %s: explain says drop as %s, the datapath counted %v", phase, f, e.Reason, dropDiff(before, after))
	}
	if e.Verdict == "drop" {
		d.seen[e.Reason]++
	} else {
		d.seen["allow"]++
	}
	if strings.Contains(e.Rule, "safeguarding-2026") {
		d.agreement[b2i(expired)]++
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func dropDiff(before, after map[string]datapath.Counter) string {
	var out []string
	for k, v := range after {
		if n := v.Packets - before[k].Packets; n != 0 {
			out = append(out, fmt.Sprintf("%s +%d", k, n))
		}
	}
	return strings.Join(out, ", ")
}

// xdpMD mirrors struct xdp_md, the context BPF_PROG_RUN takes.
type xdpMD struct {
	Data, DataEnd, DataMeta, IngressIfindex, RxQueueIndex, EgressIfindex uint32
}

// livePrograms opens the program the agent's pinned link on org0 runs:
// the one every attached interface runs.
func livePrograms(t *testing.T, g *gatewayLab) *ebpf.Program {
	t.Helper()
	l, err := link.LoadPinnedLink(filepath.Join(g.agent.PinPath, "links", "org0"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	info, err := l.Info()
	if err != nil {
		t.Fatal(err)
	}
	prog, err := ebpf.NewProgramFromID(info.Program)
	if err != nil {
		t.Fatal(err)
	}
	return prog
}
