package inspect

import (
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/rules"
)

// fakeTable is a flow table with one inspected flow per key.
type fakeTable struct {
	flows map[datapath.BoundaryPalFlowKey]*datapath.Flow
}

func (f *fakeTable) LookupFlow(k datapath.BoundaryPalFlowKey) (datapath.Flow, error) {
	if fl, ok := f.flows[k]; ok {
		return *fl, nil
	}
	return datapath.Flow{}, datapath.ErrNoFlow
}

func (f *fakeTable) SetFlowVerdict(k datapath.BoundaryPalFlowKey, allow bool) error {
	fl, ok := f.flows[k]
	if !ok {
		return datapath.ErrNoFlow
	}
	fl.Verdict = datapath.BoundaryPalVerdictPAL_VERDICT_DROP
	if allow {
		fl.Verdict = datapath.BoundaryPalVerdictPAL_VERDICT_ALLOW
	}
	return nil
}

func (f *fakeTable) RuleName(uint32) string { return "surrey-cc/cloud-storage" }

var (
	client = netip.MustParseAddr("198.18.1.10")
	server = netip.MustParseAddr("198.19.20.30")
)

func newTestTracker(sport uint16) (*tracker, *fakeTable, datapath.BoundaryPalFlowKey) {
	k, lo := datapath.FlowKeyOf(client, server, sport, 443, 6)
	table := &fakeTable{flows: map[datapath.BoundaryPalFlowKey]*datapath.Flow{
		k: {Verdict: datapath.BoundaryPalVerdictPAL_VERDICT_INSPECT, OrigLo: lo},
	}}
	in := &rules.Inspect{TLSSNI: []string{"*.cloud.psn.example"}}
	t := newTracker(table, func(string) *rules.Inspect { return in }, newMetrics(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	return t, table, k
}

func seg(sport uint16, seq uint32, data []byte) packet {
	return packet{src: client, dst: server, sport: sport, dport: 443, proto: 6, seq: seq, ack: true, payload: data}
}

// A ClientHello cut into tiny segments that arrive in reverse order is
// reassembled and decided once, on the segment that completes it.
func TestTrackerReorderedTinySegments(t *testing.T) {
	for _, c := range []struct {
		sni   string
		allow bool
	}{{"a.cloud.psn.example", true}, {"evil.example", false}} {
		tr, table, k := newTestTracker(40000)
		hello := clientHello(t, c.sni)
		syn := packet{src: client, dst: server, sport: 40000, dport: 443, proto: 6, seq: 99, syn: true}
		if a := tr.handle(syn, nil); a != actAccept {
			t.Fatalf("syn: %v", a)
		}
		var released []bool
		rel := func(ok bool) { released = append(released, ok) }
		const size = 7
		last := actHold
		for off := (len(hello) - 1) / size * size; off >= 0; off -= size {
			last = tr.handle(seg(40000, 100+uint32(off), hello[off:min(off+size, len(hello))]), rel)
		}
		// The first few were held, then passed so the client is not
		// stalled; the segment completing the name carries the verdict.
		if last != verdictAction(c.allow) || len(released) != holdSegments {
			t.Fatalf("%s: completing segment got %v, %d held segments released", c.sni, last, len(released))
		}
		for _, ok := range released {
			if !ok {
				t.Fatalf("%s: a held segment was dropped after passing began", c.sni)
			}
		}
		if v := table.flows[k].Verdict; (v == datapath.BoundaryPalVerdictPAL_VERDICT_ALLOW) != c.allow {
			t.Errorf("%s: flow table verdict %v", c.sni, v)
		}
		if a := tr.handle(seg(40000, 100+uint32(len(hello)), []byte("later")), nil); a != verdictAction(c.allow) {
			t.Errorf("%s: a later packet got %v", c.sni, a)
		}
	}
}

func TestTrackerRefusals(t *testing.T) {
	tr, table, k := newTestTracker(40001)
	reply := packet{src: server, dst: client, sport: 443, dport: 40001, proto: 6, seq: 5, ack: true, payload: []byte("hi")}
	if a := tr.handle(reply, nil); a != actDrop {
		t.Errorf("service data before the decision: %v, want drop", a)
	}
	frag := seg(40001, 100, clientHello(t, "a.cloud.psn.example"))
	frag.fragment = true
	if a := tr.handle(frag, nil); a != actDrop || table.flows[k].Verdict != datapath.BoundaryPalVerdictPAL_VERDICT_DROP {
		t.Errorf("a ClientHello in an IP fragment: %v, flow %v; want refused", a, table.flows[k].Verdict)
	}
	unknown := seg(40009, 100, []byte("x"))
	if a := tr.handle(unknown, nil); a != actDrop {
		t.Errorf("a packet with no flow: %v, want drop", a)
	}
}

// A client that sends part of a name and then stalls is refused after
// pendingTimeout; one that only opened the connection is not.
func TestTrackerSweep(t *testing.T) {
	tr, table, k := newTestTracker(40002)
	idle, _ := datapath.FlowKeyOf(client, server, 40003, 443, 6)
	table.flows[idle] = &datapath.Flow{Verdict: datapath.BoundaryPalVerdictPAL_VERDICT_INSPECT, OrigLo: table.flows[k].OrigLo}
	var held []bool
	if a := tr.handle(seg(40002, 100, []byte{22, 3, 1, 2}), func(ok bool) { held = append(held, ok) }); a != actHold {
		t.Fatalf("partial record: %v, want hold", a)
	}
	if a := tr.handle(packet{src: client, dst: server, sport: 40003, dport: 443, proto: 6, syn: true, seq: 1}, nil); a != actAccept {
		t.Fatalf("syn: %v", a)
	}
	tr.sweep(time.Now().Add(pendingTimeout + time.Second))
	if table.flows[k].Verdict != datapath.BoundaryPalVerdictPAL_VERDICT_DROP || len(held) != 1 || held[0] {
		t.Errorf("stalled flow: verdict %v, held %v; want refused and its segment dropped", table.flows[k].Verdict, held)
	}
	if table.flows[idle].Verdict != datapath.BoundaryPalVerdictPAL_VERDICT_INSPECT {
		t.Errorf("a flow that sent nothing yet was decided: %v", table.flows[idle].Verdict)
	}
}
