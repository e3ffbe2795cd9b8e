package datapath

import (
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/palisade-psn/palisade/internal/packets"
	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
)

// Go fuzz targets for the reference model. FuzzReferenceParser needs no
// kernel: it holds the parser (and the model's whole decision) to
// invariants and to gopacket's reading of the same bytes.
// FuzzModelAgainstProgram runs each input frame through the program (as
// root, with BPF_PROG_RUN) after a fixed prologue of flows, and wants
// the model's answer:
//
//	go test -run '^$' -fuzz FuzzModelAgainstProgram -fuzztime 5m ./pkg/datapath/

// fuzzSeeds are frames the generator makes, a few of each kind.
func fuzzSeeds() [][]byte {
	var out [][]byte
	for e := range uint64(3) {
		for _, s := range newSeqGen(2, e).epoch(120) {
			if s.event == nil {
				out = append(out, s.frame)
			}
		}
	}
	return out
}

func FuzzReferenceParser(f *testing.F) {
	for _, b := range fuzzSeeds() {
		f.Add(b)
	}
	m := offlineModel(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		p, r := refParse(b)
		if r != rNone {
			if r >= rMax {
				t.Fatalf("drop reason %d out of range", r)
			}
			return
		}
		checkParsed(t, b, &p)
		for _, idx := range m.w.ifindex {
			o := m.decide(idx, b)
			if o.action == xdpDrop && (o.reason == rNone || o.reason >= rMax) {
				t.Fatalf("model drops for reason %d", o.reason)
			}
		}
	})
}

// checkParsed holds a parsed packet to what parse.h guarantees, and to
// what gopacket reads from the same bytes when it reads them too.
func checkParsed(t *testing.T, b []byte, p *refPkt) {
	if p.l3Off != 14 && p.l3Off != 18 && p.l3Off != 22 {
		t.Fatalf("network header at %d", p.l3Off)
	}
	switch p.family {
	case 0:
		if p.ethProto != 0x0806 {
			t.Fatalf("family 0 for ethertype %#x", p.ethProto)
		}
		return
	case 4, 6:
	default:
		t.Fatalf("family %d", p.family)
	}
	if p.l3Off+int(p.ipLen) > len(b) {
		t.Fatalf("IP datagram of %d bytes at %d past a frame of %d", p.ipLen, p.l3Off, len(b))
	}
	if p.frag != fragLater && (p.l4Off < p.l3Off+20 || p.l4Off+8 > len(b)) {
		t.Fatalf("transport header at %d in a frame of %d", p.l4Off, len(b))
	}
	pkt := gopacket.NewPacket(b, layers.LayerTypeEthernet, gopacket.Default)
	if nl := pkt.NetworkLayer(); nl != nil && pkt.ErrorLayer() == nil {
		src, _ := netip.AddrFromSlice(nl.NetworkFlow().Src().Raw())
		dst, _ := netip.AddrFromSlice(nl.NetworkFlow().Dst().Raw())
		if src != p.src || dst != p.dst {
			t.Fatalf("addresses %s > %s, gopacket reads %s > %s", p.src, p.dst, src, dst)
		}
	}
	if p.frag == fragNone && p.proto == 6 {
		if tl, ok := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP); ok && pkt.ErrorLayer() == nil {
			if uint16(tl.SrcPort) != p.sport || uint16(tl.DstPort) != p.dport {
				t.Fatalf("ports %d > %d, gopacket reads %d > %d", p.sport, p.dport, tl.SrcPort, tl.DstPort)
			}
		}
	}
}

// offlineModel is the model of the fuzzer's world without a kernel:
// interface indexes made up, the policy compiled as the harness does.
func offlineModel(t testing.TB) *refModel {
	ifindex := map[string]uint32{}
	for i, n := range append(append([]string{}, seqIfaces...), "vl100", "vlq") {
		ifindex[n] = uint32(i + 2)
	}
	p, err := rules.Load("testdata/seqfuzz")
	if err != nil {
		t.Fatal(err)
	}
	return newRefModel(newSeqWorld(ifindex, true), policy.Compile(p), seqIfaces)
}

// fuzzPrologue opens flows in every direction the doors care about, so
// a fuzzed frame has real flows to reply to, quote, continue, or take
// over: TCP and UDP over both families, org to org, a VLAN-tagged and a
// QinQ organisation, an inspected flow, and a first fragment.
func fuzzPrologue() []seqStep {
	a4, a6 := netip.MustParseAddr("198.18.1.10"), netip.MustParseAddr("2001:db8:1::10")
	w4, w6 := netip.MustParseAddr("198.19.10.5"), netip.MustParseAddr("2001:db8:10::5")
	g4, t4 := netip.MustParseAddr("198.18.3.10"), netip.MustParseAddr("198.18.5.10")
	d4, p4 := netip.MustParseAddr("198.18.4.10"), netip.MustParseAddr("198.19.40.7")
	step := func(iface string, tags []uint16, s packets.Spec) seqStep {
		return seqStep{iface: iface, frame: buildOn(s, genIngress{iface, tags}, 0), note: "prologue"}
	}
	return []seqStep{
		step("org0", nil, tcp(a4, w4, 40000, 443, packets.SYN)),
		step("svc0", nil, tcp(w4, a4, 443, 40000, packets.SYN|packets.ACK)),
		step("org0", nil, tcp(a6, w6, 40001, 443, packets.SYN)),
		step("org0", nil, udp(a4, netip.MustParseAddr("198.19.20.53"), 40002, 53)),
		step("org0", nil, echo(a6, w6, 40003, false)),
		step("org0", nil, tcp(a4, g4, 40004, 22, packets.SYN)),
		step("org1", nil, udp(g4, a4, 40005, 7000)),
		step("org1", []uint16{300, 7}, tcp(t4, w4, 40006, 443, packets.SYN)),
		step("org1", []uint16{200}, tcp(d4, p4, 40007, 8443, packets.SYN)),
		step("org0", nil, withFrag(tcp(a4, w4, 40008, 443, packets.SYN), 0x77, 0, true)),
	}
}

func FuzzModelAgainstProgram(f *testing.F) {
	for i, b := range fuzzSeeds() {
		f.Add(uint8(i), b)
	}
	h := newSeqHarness(f)
	h.publish()
	m := newRefModel(h.world, h.policy, seqIfaces)
	prologue := fuzzPrologue()
	f.Fuzz(func(t *testing.T, iface uint8, frame []byte) {
		if len(frame) < 14 || len(frame) > 1500 {
			return // BPF_PROG_RUN takes no shorter frame; the MTU no longer one
		}
		last := seqStep{iface: seqIfaces[int(iface)%len(seqIfaces)], frame: frame, note: "fuzzed"}
		steps := append(append([]seqStep{}, prologue...), last)
		d, err := h.playLogged(m, steps, true, true, nil)
		if err != nil {
			t.Fatal(err)
		}
		if d != nil {
			t.Fatalf("step %d (%s): model %s (%s), program %s\n%s", d.step, steps[d.step], d.want, d.want.why, d.got,
				h.routeReport(steps[d.step].iface, steps[d.step].frame))
		}
	})
}
