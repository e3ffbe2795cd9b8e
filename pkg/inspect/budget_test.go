package inspect

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/rules"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Rule slots of the budget tests: two organisations, one rule each
// failure mode for the first.
const (
	slotClosed = iota + 1 // surrey-cc/cloud-storage, fail-closed
	slotOpen              // surrey-cc/open-storage, fail-open
	slotOther             // mole-valley-dc/cloud-storage
)

type budgetLab struct {
	t     *testing.T
	tr    *tracker
	table *fakeTable
	hello []byte // an allowed ClientHello
}

func newBudgetLab(t *testing.T, quota int) *budgetLab {
	table := &fakeTable{flows: map[datapath.BoundaryPalFlowKey]*datapath.Flow{}, rules: map[uint32]string{
		slotClosed: "surrey-cc/cloud-storage", slotOpen: "surrey-cc/open-storage", slotOther: "mole-valley-dc/cloud-storage",
	}}
	in := &rules.Inspect{TLSSNI: []string{"*.cloud.psn.example"}}
	tr := newTracker(table, func(string) *rules.Inspect { return in }, Budget{OrgFlows: quota}, newMetrics(),
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	return &budgetLab{t: t, tr: tr, table: table, hello: clientHello(t, "a.cloud.psn.example")}
}

// syn opens a flow of the rule in slot from sport: the datapath flagged
// it, its SYN reaches the inspector.
func (b *budgetLab) syn(slot uint32, sport uint16) action {
	k, lo := datapath.FlowKeyOf(client, server, sport, 443, 6)
	b.table.flows[k] = &datapath.Flow{Verdict: datapath.BoundaryPalVerdictPAL_VERDICT_INSPECT, RuleSlot: slot,
		FailOpen: slot == slotOpen, OrigLo: lo}
	return b.tr.handle(packet{src: client, dst: server, sport: sport, dport: 443, proto: 6, seq: 99, syn: true}, nil)
}

func (b *budgetLab) synAck(sport uint16) action {
	return b.tr.handle(packet{src: server, dst: client, sport: 443, dport: sport, proto: 6, seq: 7, syn: true, ack: true, ackNum: 100}, nil)
}

// data sends the first bytes of a ClientHello: the flow now carries the
// client's bytes, and the segment is held.
func (b *budgetLab) data(sport uint16) action {
	return b.tr.handle(seg(sport, 100, b.hello[:4]), func(bool) {})
}

// rest sends the rest of the ClientHello after data.
func (b *budgetLab) rest(sport uint16) action {
	return b.tr.handle(seg(sport, 104, b.hello[4:]), nil)
}

func (b *budgetLab) tracked(sport uint16) bool {
	k, _ := datapath.FlowKeyOf(client, server, sport, 443, 6)
	_, ok := b.tr.flows[k]
	return ok
}

func (b *budgetLab) shed(org, reason, fail string) float64 {
	return value(b.tr.m.shedFlows.WithLabelValues(org, reason, fail))
}

func (b *budgetLab) evicted(org, state string) float64 {
	return value(b.tr.m.evictions.WithLabelValues(org, state))
}

// An organisation holds exactly its quota; one past it its new flow gets
// its rule's failure mode, counted, while another organisation's flows
// are tracked as before; a flow that ends frees its slot.
func TestBudgetQuota(t *testing.T) {
	const quota = 3
	b := newBudgetLab(t, quota)
	for i := range uint16(quota) {
		if a := b.syn(slotClosed, 1000+i); a != actAccept || !b.tracked(1000+i) {
			t.Fatalf("flow %d of %d: %v, tracked %v", i+1, quota, a, b.tracked(1000+i))
		}
		if a := b.data(1000 + i); a != actHold {
			t.Fatalf("flow %d: first bytes %v, want hold", i+1, a)
		}
	}
	if a := b.syn(slotClosed, 1100); a != actDrop || b.tracked(1100) {
		t.Errorf("fail-closed flow one past the quota: %v, tracked %v; want refused", a, b.tracked(1100))
	}
	if a := b.syn(slotOpen, 1101); a != actAccept || b.tracked(1101) {
		t.Errorf("fail-open flow one past the quota: %v, tracked %v; want passed uninspected", a, b.tracked(1101))
	}
	if c, o := b.shed("surrey-cc", shedQuota, "closed"), b.shed("surrey-cc", shedQuota, "open"); c != 1 || o != 1 {
		t.Errorf("shed flow_quota closed %v, open %v; want 1 each", c, o)
	}
	for i := range uint16(quota) {
		if a := b.syn(slotOther, 2000+i); a != actAccept || !b.tracked(2000+i) {
			t.Errorf("another organisation's flow %d: %v, tracked %v", i+1, a, b.tracked(2000+i))
		}
	}
	if n := b.tr.orgs["surrey-cc"].flows; n != quota {
		t.Errorf("surrey-cc tracks %d flows, want its quota %d", n, quota)
	}

	// One decision: the decided flow gives way first, then its slot is
	// free once its decision is forgotten.
	if a := b.rest(1000); a != actAccept {
		t.Fatalf("allowed ClientHello: %v", a)
	}
	if a := b.syn(slotClosed, 1200); a != actAccept || b.tracked(1000) || b.evicted("surrey-cc", evictDecided) != 1 {
		t.Errorf("new flow at quota with a decided one: %v, decided still tracked %v, evictions %v",
			a, b.tracked(1000), b.evicted("surrey-cc", evictDecided))
	}
	b.tr.handle(seg(1200, 100, b.hello), nil)
	// 1200's decision is forgotten; 1001 and 1002 stalled mid-name and
	// are refused (timeout), decided now.
	b.tr.sweep(time.Now().Add(decidedTTL + time.Second))
	if n := b.tr.orgs["surrey-cc"].flows; n != quota-1 || b.tracked(1200) {
		t.Fatalf("after the decision is forgotten: %d flows, want %d", n, quota-1)
	}
	if a := b.syn(slotClosed, 1300); a != actAccept || b.evicted("surrey-cc", evictDecided) != 1 {
		t.Errorf("new flow in a freed slot: %v, evictions %v (want none more)", a, b.evicted("surrey-cc", evictDecided))
	}
	// The sweep decides 1001 and 1002 in map order: either may be older.
	if a := b.syn(slotClosed, 1301); a != actAccept || b.tracked(1001) == b.tracked(1002) || b.evicted("surrey-cc", evictDecided) != 2 {
		t.Errorf("at quota again: %v, timed-out flows still tracked %v %v; want one given way", a, b.tracked(1001), b.tracked(1002))
	}
	if s := b.shed("surrey-cc", shedQuota, "closed"); s != 1 {
		t.Errorf("shed %v, want still 1", s)
	}
}

// At its quota an organisation's unreplied flows give way first (the
// longest waiting first), then replied ones that sent nothing; a flow
// carrying data never does. An evicted flow that sends later is still
// judged from where its stream starts.
func TestBudgetEvictionOrder(t *testing.T) {
	b := newBudgetLab(t, 4)
	b.syn(slotClosed, 1000) // replied, oldest
	b.synAck(1000)
	b.syn(slotClosed, 1001) // unreplied
	b.syn(slotClosed, 1002) // unreplied, newer
	b.syn(slotClosed, 1003) // carries data
	if a := b.data(1003); a != actHold {
		t.Fatalf("data: %v", a)
	}
	// Each new flow sends data at once: only the first four can give way.
	for _, c := range []struct {
		sport   uint16
		evicted uint16
		state   string
	}{{1100, 1001, evictUnreplied}, {1101, 1002, evictUnreplied}, {1102, 1000, evictReplied}} {
		if a := b.syn(slotClosed, c.sport); a != actAccept || b.tracked(c.evicted) || !b.tracked(1003) {
			t.Errorf("new flow %d: %v; flow %d should have given way (%s), never 1003 (data)", c.sport, a, c.evicted, c.state)
		}
		b.data(c.sport)
	}
	if u, r := b.evicted("surrey-cc", evictUnreplied), b.evicted("surrey-cc", evictReplied); u != 2 || r != 1 {
		t.Errorf("evictions unreplied %v, replied %v; want 2, 1", u, r)
	}
	if a := b.syn(slotClosed, 1300); a != actDrop || !b.tracked(1003) {
		t.Errorf("quota full of data-carrying flows: %v, data flow tracked %v; want refused, kept", a, b.tracked(1003))
	}
	if a := b.rest(1003); a != actAccept {
		t.Errorf("the data flow still decides: %v", a)
	}
	// The evicted replied flow sends its ClientHello: tracked afresh
	// (its slot is the decided flow's), judged from its remembered start.
	k, _ := datapath.FlowKeyOf(client, server, 1000, 443, 6)
	if a := b.tr.handle(seg(1000, 100, b.hello), nil); a != actAccept ||
		b.table.flows[k].Verdict != datapath.BoundaryPalVerdictPAL_VERDICT_ALLOW {
		t.Errorf("evicted flow sending later: %v, flow %v; want allowed from its start", a, b.table.flows[k].Verdict)
	}
}

// With the table full (quotas oversubscribing it), an organisation under
// its quota gives up its own flows, never another's; with none to give,
// its new flow is shed as table_full.
func TestBudgetTableFull(t *testing.T) {
	b := newBudgetLab(t, MaxFlows)
	for i := range MaxFlows {
		b.syn(slotOther, uint16(1000+i))
		b.data(uint16(1000 + i))
	}
	if a := b.syn(slotClosed, 60000); a != actDrop || b.shed("surrey-cc", shedTableFull, "closed") != 1 {
		t.Errorf("full table: %v, shed %v", a, b.shed("surrey-cc", shedTableFull, "closed"))
	}
	if n := b.tr.orgs["mole-valley-dc"].flows; n != MaxFlows {
		t.Errorf("another organisation lost flows: %d of %d", n, MaxFlows)
	}
	if _, ok := b.tr.orgs["surrey-cc"]; ok {
		t.Error("a shed flow left an empty organisation behind")
	}
}

// One organisation may hold at most orgHeld packets in the queues; the
// flow that would hold one more takes its failure mode (fail-closed:
// refused, its held segments dropped), counted, while another
// organisation's segments are held as before.
func TestBudgetHeld(t *testing.T) {
	per := holdSegments - 1 // what one flow holds undecided
	full := orgHeld / per
	last := orgHeld - full*per
	b := newBudgetLab(t, full+2)
	held := 0
	hold := func(sport uint16, n int) (a action) {
		for s := range uint32(n) {
			if a = b.tr.handle(seg(sport, 100+s, b.hello[s:s+1]), func(bool) {}); a == actHold {
				held++
			}
		}
		return a
	}
	for i := range full {
		b.syn(slotClosed, uint16(1000+i))
		hold(uint16(1000+i), per)
	}
	over := uint16(1000 + full)
	b.syn(slotClosed, over)
	var dropped []bool
	if last > 0 {
		hold(over, last)
	}
	if held != orgHeld || b.tr.orgs["surrey-cc"].held != orgHeld {
		t.Fatalf("held %d (org counts %d), want orgHeld %d", held, b.tr.orgs["surrey-cc"].held, orgHeld)
	}
	if a := b.tr.handle(seg(over, 100+uint32(last), b.hello[last:last+1]), func(ok bool) { dropped = append(dropped, ok) }); a != actDrop {
		t.Errorf("a segment past the organisation's share: %v, want refused", a)
	}
	k, _ := datapath.FlowKeyOf(client, server, over, 443, 6)
	if v := b.table.flows[k].Verdict; v != datapath.BoundaryPalVerdictPAL_VERDICT_DROP {
		t.Errorf("the flow past the share: verdict %v, want refused", v)
	}
	if n := value(b.tr.m.unheld.WithLabelValues("surrey-cc", boundOrg, "closed")); n != 1 {
		t.Errorf("hold_exceeded{bound=org} %v, want 1", n)
	}
	if got := b.tr.orgs["surrey-cc"].held; got != full*per {
		t.Errorf("after the refusal the organisation holds %d, want %d (the refused flow's released)", got, full*per)
	}
	b.syn(slotOther, 3000)
	if a := b.tr.handle(seg(3000, 100, []byte{22}), func(bool) {}); a != actHold {
		t.Errorf("another organisation's partial name: %v, want held", a)
	}
	// Decisions give the slots back.
	b.tr.sweep(time.Now().Add(pendingTimeout + time.Second))
	if o := b.tr.orgs["surrey-cc"]; o.held != 0 {
		t.Errorf("after the decisions %d packets still counted held", o.held)
	}
}

func TestBudgetFairShare(t *testing.T) {
	for _, c := range []struct {
		b    Budget
		want int
	}{
		{Budget{}, MaxFlows},
		{Budget{Orgs: func() int { return 0 }}, MaxFlows},
		{Budget{Orgs: func() int { return 3 }}, MaxFlows / 3},
		{Budget{Orgs: func() int { return 1000 }}, minOrgFlows},
		{Budget{OrgFlows: 100, Orgs: func() int { return 3 }}, 100},
		{Budget{OrgFlows: 1 << 20}, MaxFlows},
	} {
		if got := c.b.quota("a"); got != c.want {
			t.Errorf("%+v: quota %d, want %d", c.b, got, c.want)
		}
	}
	// An organisation's own limit comes first, for it alone.
	own := Budget{OrgFlows: 100, Own: func(org string) int { return map[string]int{"a": 7, "b": 1 << 20}[org] }}
	for org, want := range map[string]int{"a": 7, "b": MaxFlows, "c": 100, "": 100} {
		if got := own.quota(org); got != want {
			t.Errorf("own limits: quota(%q) = %d, want %d", org, got, want)
		}
	}
}

func value(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}
