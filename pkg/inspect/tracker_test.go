package inspect

import (
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/rules"
	"golang.org/x/net/dns/dnsmessage"
)

// fakeTable is a flow table with one inspected flow per key.
type fakeTable struct {
	flows map[datapath.BoundaryPalFlowKey]*datapath.Flow
	rules map[uint32]string // rule names by slot; others are surrey-cc/cloud-storage
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

func (f *fakeTable) RuleName(slot uint32) string {
	if n, ok := f.rules[slot]; ok {
		return n
	}
	return "surrey-cc/cloud-storage"
}

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
	t := newTracker(table, func(string) *rules.Inspect { return in }, Budget{}, newMetrics(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	return t, table, k
}

func seg(sport uint16, seq uint32, data []byte) packet {
	return packet{src: client, dst: server, sport: sport, dport: 443, proto: 6, seq: seq, ack: true, payload: data}
}

// A ClientHello cut into segments that arrive in reverse order is
// reassembled and decided once, on the segment that completes it; every
// segment before it was held, none passed, and each gets the verdict.
func TestTrackerReorderedSegments(t *testing.T) {
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
		size := (len(hello) + holdSegments - 2) / (holdSegments - 1) // fewer segments than holdSegments
		last, n := actHold, 0
		for off := (len(hello) - 1) / size * size; off >= 0; off -= size {
			last = tr.handle(seg(40000, 100+uint32(off), hello[off:min(off+size, len(hello))]), rel)
			n++
			if off > 0 && last != actHold {
				t.Fatalf("%s: segment at %d before the name was complete: %v, want held", c.sni, off, last)
			}
		}
		if last != verdictAction(c.allow) || len(released) != n-1 {
			t.Fatalf("%s: completing segment got %v, %d of %d held segments released", c.sni, last, len(released), n-1)
		}
		for _, ok := range released {
			if ok != c.allow {
				t.Fatalf("%s: a held segment got accept=%v", c.sni, ok)
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

// holdSegments client segments and the name still incomplete: a
// fail-closed flow is refused on the last (nothing was passed, the held
// ones are dropped); a fail-open flow passes from there and is still
// decided when the name completes. A retransmission of a held segment is
// dropped, not held twice.
func TestTrackerHoldBound(t *testing.T) {
	hello := clientHello(t, "evil.example")
	for _, failOpen := range []bool{false, true} {
		tr, table, k := newTestTracker(40010)
		table.flows[k].FailOpen = failOpen
		tr.handle(packet{src: client, dst: server, sport: 40010, dport: 443, proto: 6, seq: 99, syn: true}, nil)
		var released []bool
		rel := func(ok bool) { released = append(released, ok) }
		for i := range holdSegments - 1 {
			if a := tr.handle(seg(40010, 100+uint32(i), hello[i:i+1]), rel); a != actHold {
				t.Fatalf("open=%v: segment %d: %v, want held", failOpen, i, a)
			}
		}
		if a := tr.handle(seg(40010, 100, hello[:1]), rel); a != actDrop || len(released) != 0 {
			t.Fatalf("open=%v: retransmission of a held segment: %v (released %v), want dropped, the original still held", failOpen, a, released)
		}
		a := tr.handle(seg(40010, 100+holdSegments-1, hello[holdSegments-1:holdSegments]), rel)
		if n := value(tr.m.unheld.WithLabelValues("surrey-cc", boundFlow, failMode(failOpen))); n != 1 {
			t.Errorf("open=%v: hold_exceeded{bound=flow} = %v, want 1", failOpen, n)
		}
		if !failOpen {
			if a != actDrop || table.flows[k].Verdict != datapath.BoundaryPalVerdictPAL_VERDICT_DROP || len(released) != holdSegments-1 || released[0] {
				t.Errorf("fail-closed past the bound: %v, flow %v, released %v; want refused, held dropped", a, table.flows[k].Verdict, released)
			}
			continue
		}
		if a != actAccept || len(released) != holdSegments-1 || !released[0] {
			t.Fatalf("fail-open past the bound: %v, released %v; want passing", a, released)
		}
		if a := tr.handle(seg(40010, 100+holdSegments, hello[holdSegments:]), nil); a != actDrop || table.flows[k].Verdict != datapath.BoundaryPalVerdictPAL_VERDICT_DROP {
			t.Errorf("fail-open, the name completes refused: %v, flow %v", a, table.flows[k].Verdict)
		}
	}
}

// Urgent data from the client before the decision refuses the flow: the
// service's stack would take the urgent byte out of the stream it reads,
// also when the pointer rides on a segment without data.
func TestTrackerUrgent(t *testing.T) {
	for _, payload := range [][]byte{{22, 3, 1}, nil} {
		tr, table, k := newTestTracker(40020)
		tr.handle(packet{src: client, dst: server, sport: 40020, dport: 443, proto: 6, seq: 99, syn: true}, nil)
		p := seg(40020, 100, payload)
		p.urg = true
		if a := tr.handle(p, func(bool) {}); a != actDrop || table.flows[k].Verdict != datapath.BoundaryPalVerdictPAL_VERDICT_DROP {
			t.Errorf("urgent (%d bytes): %v, flow %v; want refused", len(payload), a, table.flows[k].Verdict)
		}
		if n := value(tr.m.verdicts.WithLabelValues("surrey-cc/cloud-storage", "drop", string(RefuseUrgent))); n != 1 {
			t.Errorf("urgent: refusals counted %v", n)
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
	tr.handle(packet{src: client, dst: server, sport: 40002, dport: 443, proto: 6, syn: true, seq: 99}, nil)
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

// The service must read the same first bytes as the inspector. A client
// that idles past idleForget and then sends a later segment first (here
// an allowed Host on the wire after a refused one) is judged from where
// its stream really starts; a flow whose start was never seen is refused
// rather than judged from whatever segment comes first; the SYN-ACK
// gives the start when the SYN went by unseen; a second SYN under bytes
// already read refuses.
func TestTrackerStreamStart(t *testing.T) {
	refused := []byte("GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n")
	allowed := []byte("GET / HTTP/1.1\r\nHost: files.cloud.psn.example\r\n\r\n")
	syn := func(sport uint16, isn uint32) packet {
		return packet{src: client, dst: server, sport: sport, dport: 443, proto: 6, seq: isn, syn: true}
	}
	http := &rules.Inspect{HTTPHost: []string{"*.cloud.psn.example"}}

	tr, table, k := newTestTracker(41000)
	tr.rules = func(string) *rules.Inspect { return http }
	tr.handle(syn(41000, 999), nil)
	tr.sweep(time.Now().Add(idleForget + time.Second))
	if len(tr.flows) != 0 {
		t.Fatal("the idle flow's state was kept")
	}
	second := seg(41000, 1000+uint32(len(refused)), allowed)
	if a := tr.handle(second, func(bool) {}); a == actAccept || table.flows[k].Verdict == datapath.BoundaryPalVerdictPAL_VERDICT_ALLOW {
		t.Fatalf("a later segment after an idle spell was taken for the first: %v, flow %v", a, table.flows[k].Verdict)
	}
	if a := tr.handle(seg(41000, 1000, refused), nil); a != actDrop || table.flows[k].Verdict != datapath.BoundaryPalVerdictPAL_VERDICT_DROP {
		t.Errorf("the first segment, a refused host: %v, flow %v", a, table.flows[k].Verdict)
	}

	tr, table, k = newTestTracker(41001)
	tr.rules = func(string) *rules.Inspect { return http }
	if a := tr.handle(seg(41001, 5000, allowed), nil); a != actDrop || table.flows[k].Verdict != datapath.BoundaryPalVerdictPAL_VERDICT_DROP {
		t.Errorf("data with no start seen: %v, flow %v; want refused", a, table.flows[k].Verdict)
	}

	tr, table, k = newTestTracker(41002)
	tr.rules = func(string) *rules.Inspect { return http }
	synAck := packet{src: server, dst: client, sport: 443, dport: 41002, proto: 6, seq: 77, syn: true, ack: true, ackNum: 7001}
	if a := tr.handle(synAck, nil); a != actAccept {
		t.Fatalf("syn-ack: %v", a)
	}
	if a := tr.handle(seg(41002, 7001, allowed), nil); a != actAccept || table.flows[k].Verdict != datapath.BoundaryPalVerdictPAL_VERDICT_ALLOW {
		t.Errorf("in-order data after a SYN-ACK: %v, flow %v; want allowed", a, table.flows[k].Verdict)
	}

	tr, table, k = newTestTracker(41003)
	tr.rules = func(string) *rules.Inspect { return http }
	tr.handle(syn(41003, 100), nil)
	if a := tr.handle(seg(41003, 101, allowed[:10]), func(bool) {}); a != actHold {
		t.Fatalf("a partial request: %v, want hold", a)
	}
	tr.handle(syn(41003, 5000), nil)
	if table.flows[k].Verdict != datapath.BoundaryPalVerdictPAL_VERDICT_DROP {
		t.Errorf("a second SYN under buffered bytes: flow %v, want refused", table.flows[k].Verdict)
	}
}

// A UDP flow is a 5-tuple its client may reuse: an allowed first query
// leaves it flagged in XDP, and each later query is read. One outside the
// zones refuses the flow (XDP drops the rest); a fragmented one too.
func TestTrackerEveryUDPQuery(t *testing.T) {
	dns := &rules.Inspect{DNS: []string{"*.psn.example"}}
	query := func(name string) []byte {
		b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: 7, RecursionDesired: true})
		b.StartQuestions()
		b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET})
		msg, err := b.Finish()
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	for _, last := range []string{"evil.example.", "fragment"} {
		k, lo := datapath.FlowKeyOf(client, server, 5353, 53, 17)
		table := &fakeTable{flows: map[datapath.BoundaryPalFlowKey]*datapath.Flow{k: {Verdict: datapath.BoundaryPalVerdictPAL_VERDICT_INSPECT, OrigLo: lo}}}
		tr := newTracker(table, func(string) *rules.Inspect { return dns }, Budget{}, newMetrics(), slog.New(slog.NewTextHandler(io.Discard, nil)))
		q := func(payload []byte) packet {
			return packet{src: client, dst: server, sport: 5353, dport: 53, proto: 17, payload: payload}
		}
		reply := packet{src: server, dst: client, sport: 53, dport: 5353, proto: 17, payload: []byte("answer")}
		for _, name := range []string{"a.psn.example.", "b.psn.example."} {
			if a := tr.handle(q(query(name)), nil); a != actAccept {
				t.Fatalf("query %s: %v, want accepted", name, a)
			}
			if v := table.flows[k].Verdict; v != datapath.BoundaryPalVerdictPAL_VERDICT_INSPECT {
				t.Fatalf("after an allowed query the flow is %v in XDP, want still inspected", v)
			}
			if a := tr.handle(reply, nil); a != actAccept {
				t.Fatalf("reply to %s: %v", name, a)
			}
		}
		p := q(query("c.psn.example."))
		if last == "fragment" {
			p.fragment = true
		} else {
			p = q(query(last))
		}
		if a := tr.handle(p, nil); a != actDrop || table.flows[k].Verdict != datapath.BoundaryPalVerdictPAL_VERDICT_DROP {
			t.Errorf("%s on the reused 5-tuple: %v, flow %v; want refused", last, a, table.flows[k].Verdict)
		}
		if a := tr.handle(q(query("d.psn.example.")), nil); a != actDrop {
			t.Errorf("after the refusal (%s), an allowed name: %v, want dropped", last, a)
		}
	}
}
