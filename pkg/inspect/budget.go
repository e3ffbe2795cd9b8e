package inspect

import (
	"container/list"
	"strings"

	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/prometheus/client_golang/prometheus"
)

// Bounds of the shared tracker and of each organisation's part of it.
const (
	// MaxFlows is how many flows the tracker holds at once, all
	// organisations together.
	MaxFlows = 16384
	// minOrgFlows is the least fair share: with more organisations than
	// MaxFlows/minOrgFlows the quotas oversubscribe the table, and a new
	// flow finding it full is shed (table_full) rather than evicting
	// another organisation's.
	minOrgFlows = 256
	// orgHeld is how many packets one organisation may have held in the
	// kernel's queues at once: a quarter of one queue, so that no
	// organisation's partial names can fill a queue that others share.
	orgHeld = queueLen / 4
)

// Budget bounds what one organisation may hold in the inspector.
type Budget struct {
	// OrgFlows is how many flows one organisation may have tracked at
	// once; 0 gives each a fair share: MaxFlows over the organisations
	// with inspected rules, at least minOrgFlows.
	OrgFlows int
	// Orgs counts the organisations with inspected rules in the policy in
	// force; nil counts one.
	Orgs func() int
	// Own is an organisation's own quota from its rules (limits:
	// inspected_flows), 0 when it sets none; nil: none do.
	Own func(org string) int
}

// quota is the flows organisation org may track now ("": the default).
func (b Budget) quota(org string) int {
	if b.Own != nil {
		if q := b.Own(org); q > 0 {
			return min(q, MaxFlows)
		}
	}
	if b.OrgFlows > 0 {
		return min(b.OrgFlows, MaxFlows)
	}
	n := 1
	if b.Orgs != nil {
		n = max(b.Orgs(), 1)
	}
	return min(max(MaxFlows/n, minOrgFlows), MaxFlows)
}

// orgOf is the organisation of a rule named "org/id".
func orgOf(rule string) string {
	org, _, _ := strings.Cut(rule, "/")
	return org
}

// Evictable states, in the order an organisation's own flows give way to
// its new one: a decided flow (XDP has its verdict; the state only
// answers packets already on their way), then one the service never
// answered, then one that opened but sent nothing yet. A flow carrying
// the client's bytes is never evicted.
const (
	evictDecided   = "decided"
	evictUnreplied = "unreplied"
	evictReplied   = "replied"
)

// orgState is one organisation's part of the tracker.
type orgState struct {
	name  string
	flows int // flows tracked, in every state
	held  int // packets held in the kernel's queues
	// Evictable flows by state, oldest first.
	decided, unreplied, replied list.List
	// starts keeps where the streams of its idle, forgotten flows begin.
	starts map[datapath.BoundaryPalFlowKey]uint32
}

func newOrgState(name string) *orgState {
	return &orgState{name: name, starts: map[datapath.BoundaryPalFlowKey]uint32{}}
}

// file moves a flow to the back of an evictable list; nil: to none.
func (o *orgState) file(st *flowState, l *list.List) {
	if st.list != nil {
		st.list.Remove(st.elem)
		st.list, st.elem = nil, nil
	}
	if l != nil {
		st.list, st.elem = l, l.PushBack(st)
	}
}

// oldest is the flow that gives way first, and its state; nil if every
// flow of the organisation carries data.
func (o *orgState) oldest() (*flowState, string) {
	for _, c := range []struct {
		l    *list.List
		name string
	}{{&o.decided, evictDecided}, {&o.unreplied, evictUnreplied}, {&o.replied, evictReplied}} {
		if e := c.l.Front(); e != nil {
			return e.Value.(*flowState), c.name
		}
	}
	return nil, ""
}

func (o *orgState) empty() bool { return o.flows == 0 && o.held == 0 && len(o.starts) == 0 }

// org finds or adds an organisation's state.
func (t *tracker) org(name string) *orgState {
	o := t.orgs[name]
	if o == nil {
		o = newOrgState(name)
		t.orgs[name] = o
	}
	return o
}

// admit makes room for a new flow of o: its own oldest evictable flows
// give way while it holds its quota (or the table is full). false: no
// room, and nothing of its own to give.
func (t *tracker) admit(o *orgState) (ok bool, reason string) {
	quota := t.budget.quota(o.name)
	for o.flows >= quota || len(t.flows) >= MaxFlows {
		st, state := o.oldest()
		if st == nil {
			if o.flows >= quota {
				return false, shedQuota
			}
			return false, shedTableFull
		}
		t.m.evicted(o.name, state)
		if st.decided {
			t.remove(st)
		} else {
			t.forgetIdle(st)
		}
	}
	return true, ""
}

// add tracks a new flow as unreplied.
func (t *tracker) add(st *flowState, o *orgState) {
	st.org = o
	t.orgs[o.name] = o // again, if its last flow just gave way
	o.flows++
	t.flows[st.key] = st
	o.file(st, &o.unreplied)
}

// remove forgets a flow.
func (t *tracker) remove(st *flowState) {
	delete(t.flows, st.key)
	o := st.org
	o.flows--
	o.file(st, nil)
	if o.empty() {
		delete(t.orgs, o.name)
	}
}

// keepStart remembers where a forgotten flow's stream begins: at most
// 4 × its quota per organisation (past that an arbitrary one of its own
// goes), and at most maxStarts in all (past that, one of whichever
// organisation keeps the most).
func (t *tracker) keepStart(o *orgState, k datapath.BoundaryPalFlowKey, base uint32) {
	if len(o.starts) >= 4*t.budget.quota(o.name) {
		t.dropOneStart(o)
	} else if t.nstarts >= maxStarts {
		most := o
		for _, p := range t.orgs {
			if len(p.starts) > len(most.starts) {
				most = p
			}
		}
		t.dropOneStart(most)
	}
	if _, ok := o.starts[k]; !ok {
		t.nstarts++
	}
	o.starts[k] = base
}

func (t *tracker) dropOneStart(o *orgState) {
	for k := range o.starts {
		delete(o.starts, k)
		t.nstarts--
		return
	}
}

// takeStart returns and forgets a remembered stream start.
func (t *tracker) takeStart(o *orgState, k datapath.BoundaryPalFlowKey) (uint32, bool) {
	base, ok := o.starts[k]
	if ok {
		delete(o.starts, k)
		t.nstarts--
	}
	return base, ok
}

// budgetStats reads each organisation's use of the tracker at scrape time.
type budgetStats struct{ t *tracker }

var (
	orgFlowsDesc = prometheus.NewDesc("palisade_inspect_org_flows",
		"Flows the inspector tracks for an organisation (against palisade_inspect_org_flow_quota).", []string{"org"}, nil)
	orgQuotaDesc = prometheus.NewDesc("palisade_inspect_org_flow_quota",
		"Flows one organisation may have tracked by the inspector at once.", nil, nil)
	orgHeldDesc = prometheus.NewDesc("palisade_inspect_org_held_packets",
		"Packets of an organisation held in the kernel's queues until their flow is decided.", []string{"org"}, nil)
)

var _ prometheus.Collector = budgetStats{}

func (b budgetStats) Describe(ch chan<- *prometheus.Desc) {
	ch <- orgFlowsDesc
	ch <- orgQuotaDesc
	ch <- orgHeldDesc
}

func (b budgetStats) Collect(ch chan<- prometheus.Metric) {
	b.t.mu.Lock()
	defer b.t.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(orgQuotaDesc, prometheus.GaugeValue, float64(b.t.budget.quota("")))
	for _, o := range b.t.orgs {
		ch <- prometheus.MustNewConstMetric(orgFlowsDesc, prometheus.GaugeValue, float64(o.flows), o.name)
		ch <- prometheus.MustNewConstMetric(orgHeldDesc, prometheus.GaugeValue, float64(o.held), o.name)
	}
}
