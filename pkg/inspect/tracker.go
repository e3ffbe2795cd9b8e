package inspect

import (
	"container/list"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/rules"
)

// FlowTable is the XDP flow table as the inspector uses it (a
// *datapath.Datapath).
type FlowTable interface {
	LookupFlow(datapath.BoundaryPalFlowKey) (datapath.Flow, error)
	SetFlowVerdict(k datapath.BoundaryPalFlowKey, allow bool) error
	RuleName(slot uint32) string
}

// RuleFinder returns the inspect block of a rule by name ("org/id"), or
// nil when the policy in force has no such inspected rule.
type RuleFinder func(name string) *rules.Inspect

// action is what happens to one queued packet now.
type action int

const (
	actDrop action = iota
	actAccept
	actHold // kept in the kernel's queue until the flow is decided
)

func (a action) String() string { return [...]string{"drop", "accept", "hold"}[a] }

func verdictAction(allow bool) action {
	if allow {
		return actAccept
	}
	return actDrop
}

// release gives a held packet its verdict once its flow is decided.
type release func(accept bool)

// Bounds: how long a flow may take to show its name, and how long a
// decision is remembered for packets that were already on their way
// before XDP had it. Flows tracked at once: budget.go.
const (
	// holdSegments bounds the client segments a flow may send before its
	// name is complete: a TCP sender's initial window (RFC 6928). Nothing
	// is acknowledged before the verdict, so a client that has sent that
	// many and not finished its name cannot send more; deciding then (by
	// the rule's failure mode) spares it the wait for the timeout.
	holdSegments   = 10
	pendingTimeout = 5 * time.Second
	decidedTTL     = 10 * time.Second
	// idleForget drops the state of a flow that opened but sent nothing
	// (a browser's preconnect): undecided, it stays flagged in XDP and
	// its next packet starts the state afresh, from the remembered start
	// of its stream.
	idleForget = time.Minute
	// maxStarts bounds the stream starts kept for forgotten idle flows
	// (a key and 4 bytes each).
	maxStarts = 4 * MaxFlows
)

type flowState struct {
	key      datapath.BoundaryPalFlowKey
	rule     string
	org      *orgState
	list     *list.List // the org's evictable flows it is in, if any
	elem     *list.Element
	insp     *rules.Inspect
	failOpen bool
	origLo   bool
	stream   stream
	held     []release
	passing  bool // fail-open past the hold bounds: segments pass (see hold)
	first    time.Time
	data     time.Time // first payload byte from the client; zero until then
	decided  bool
	d        Decision
	at       time.Time
}

// tracker holds every flow between its first queued packet and a while
// after its decision, each in its organisation's budget. One lock: the
// queues share flows (both directions of a flow hash to one queue, but
// nothing here relies on it).
type tracker struct {
	mu      sync.Mutex
	flows   map[datapath.BoundaryPalFlowKey]*flowState
	orgs    map[string]*orgState
	nstarts int // stream starts kept, all organisations together
	budget  Budget
	table   FlowTable
	rules   RuleFinder
	m       *Metrics
	log     *slog.Logger
}

func newTracker(table FlowTable, rules RuleFinder, b Budget, m *Metrics, log *slog.Logger) *tracker {
	return &tracker{flows: map[datapath.BoundaryPalFlowKey]*flowState{}, orgs: map[string]*orgState{},
		budget: b, table: table, rules: rules, m: m, log: log}
}

// handle decides what to do with one queued packet.
func (t *tracker) handle(pk packet, h release) action {
	key, srcLo := datapath.FlowKeyOf(pk.src, pk.dst, pk.sport, pk.dport, pk.proto)
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.flows[key]
	if st != nil && st.decided && pk.syn && !pk.ack && srcLo == st.origLo {
		t.remove(st) // the 5-tuple is reused by a new connection
		st = nil
	}
	if st == nil {
		var act action
		if st, act = t.open(key); st == nil {
			return act
		}
	}
	orig := srcLo == st.origLo
	if st.decided {
		switch {
		case orig && st.perQuery() && st.d.Allow && pk.fragment:
			return t.decide(st, refuse(RefuseFragment, ""))
		case orig && st.perQuery() && st.d.Allow:
			return t.query(st, pk.payload)
		}
		return verdictAction(st.d.Allow)
	}
	if !orig && st.list == &st.org.unreplied {
		st.org.file(st, &st.org.replied)
	}
	switch {
	case pk.fragment:
		return t.decide(st, refuse(RefuseFragment, ""))
	case pk.proto == 6:
		return t.tcp(st, pk, orig, h)
	case pk.proto == 17 && orig:
		return t.decide(st, decideDatagram(st.insp, pk.payload))
	case pk.proto == 17:
		return actDrop // a reply before the query was decided
	}
	return t.decide(st, refuse(RefuseUnrecognised, ""))
}

// open starts tracking a flow the datapath flagged. Flows the datapath
// already decided, or does not know, need no state.
func (t *tracker) open(key datapath.BoundaryPalFlowKey) (*flowState, action) {
	f, err := t.table.LookupFlow(key)
	switch {
	case errors.Is(err, datapath.ErrNoFlow):
		return nil, actDrop // fragments after the first, or an expired flow
	case err != nil:
		t.log.Error("inspect: read flow table", "err", err)
		return nil, actDrop
	case f.Verdict == datapath.BoundaryPalVerdictPAL_VERDICT_ALLOW:
		return nil, actAccept // decided while this packet was on its way
	case f.Verdict != datapath.BoundaryPalVerdictPAL_VERDICT_INSPECT:
		return nil, actDrop
	}
	name := t.table.RuleName(f.RuleSlot)
	o := t.org(orgOf(name))
	if ok, reason := t.admit(o); !ok {
		t.m.overload(name, f.FailOpen)
		t.m.shed(o.name, reason, f.FailOpen)
		if o.empty() {
			delete(t.orgs, o.name)
		}
		return nil, verdictAction(f.FailOpen) // the declared failure mode, undecided
	}
	st := &flowState{key: key, rule: name, insp: t.rules(name), failOpen: f.FailOpen, origLo: f.OrigLo, first: time.Now()}
	if base, ok := t.takeStart(o, key); ok {
		st.stream.start(base - 1)
	}
	t.add(st, o)
	if st.insp == nil {
		t.decide(st, refuse(RefuseNoRule, ""))
	}
	return st, actDrop
}

func (t *tracker) tcp(st *flowState, pk packet, orig bool, h release) action {
	seq := pk.seq
	switch {
	case pk.syn && orig:
		if st.stream.known() && st.stream.base != pk.seq+1 && len(st.stream.buf) > 0 {
			// Another start under bytes already read: the inspector's
			// stream and the service's could differ from here.
			return t.decide(st, refuse(RefuseInconsistent, ""))
		}
		st.stream.start(pk.seq)
		seq++
	case pk.syn && pk.ack && !st.stream.known():
		st.stream.start(pk.ackNum - 1) // the service acknowledges the client's ISN
	}
	if orig && pk.urg {
		// The service's stack takes the urgent byte out of the stream
		// (also one a later segment carries); the inspector would not.
		return t.decide(st, refuse(RefuseUrgent, ""))
	}
	if len(pk.payload) == 0 {
		return actAccept // handshake, acks, fin: the name has not been sent yet
	}
	if !orig {
		return actDrop // the service speaks before the client named it: not yet
	}
	if !st.stream.known() {
		// Neither SYN seen (the agent started mid-handshake) nor a start
		// remembered: a later segment could pass for the first bytes.
		return t.decide(st, refuse(RefuseNoStart, ""))
	}
	if st.data.IsZero() {
		st.data = time.Now()
		st.org.file(st, nil) // carrying the client's bytes: never evicted
	}
	if st.stream.empty(seq) {
		// The common case: the whole name in the first segment, read in
		// place without copying it into the reassembly buffer.
		if d, ok := decideStream(st.insp, pk.payload); ok {
			return t.decide(st, d)
		}
	}
	seen := st.stream.covers(seq, len(pk.payload))
	inRange, err := st.stream.add(seq, pk.payload)
	if err != nil {
		return t.decide(st, refuse(err, ""))
	}
	if !inRange {
		return actDrop
	}
	d, ok := decideStream(st.insp, st.stream.prefix())
	switch {
	case ok:
		return t.decide(st, d) // held segments first, then this one
	case st.stream.full():
		return t.decide(st, refuse(RefuseTooLong, ""))
	case st.passing:
		return actAccept // fail-open past the bounds: passing, still decided by the name
	case seen:
		return actDrop // a retransmission: the segment it repeats is held
	}
	return t.hold(st, h)
}

// hold keeps a client segment in the kernel's queue until the flow is
// decided, so no byte reaches the service first. Past the flow's or the
// organisation's bound the flow takes its rule's failure mode: refused
// (fail-closed), or its segments pass from here while the name, once
// complete, still decides it (fail-open).
func (t *tracker) hold(st *flowState, h release) action {
	bound := ""
	switch {
	case len(st.held)+1 >= holdSegments:
		bound = boundFlow
	case st.org.held >= orgHeld:
		bound = boundOrg
	default:
		st.held = append(st.held, h)
		st.org.held++
		return actHold
	}
	t.m.holdExceeded(st.org.name, bound, st.failOpen)
	if !st.failOpen {
		return t.decide(st, refuse(RefuseHoldBound, ""))
	}
	st.passing = true
	t.release(st, true)
	return actAccept
}

// perQuery says every datagram of the flow is read, not only its first:
// a UDP flow is a 5-tuple its client may reuse for any number of queries,
// so an allowed one stays flagged in XDP and each query comes here. (A
// TCP flow's name is read once: its first request, ClientHello or query.)
func (st *flowState) perQuery() bool { return st.key.Proto == 17 }

// query decides a later datagram of an allowed UDP flow: one outside the
// zones refuses the whole flow.
func (t *tracker) query(st *flowState, payload []byte) action {
	d := decideDatagram(st.insp, payload)
	if !d.Allow {
		return t.decide(st, d)
	}
	st.at = time.Now() // an active flow keeps its state
	t.m.decided(st.rule, d, 0)
	return actAccept
}

// decide settles a flow: XDP gets the verdict (but for an allowed
// per-query flow, which stays flagged), held packets get theirs.
func (t *tracker) decide(st *flowState, d Decision) action {
	st.decided, st.d, st.at = true, d, time.Now()
	st.org.file(st, &st.org.decided)
	if !d.Allow || !st.perQuery() { // an allowed per-query flow stays flagged
		if err := t.table.SetFlowVerdict(st.key, d.Allow); err != nil && !errors.Is(err, datapath.ErrNoFlow) {
			t.log.Error("inspect: write flow verdict", "rule", st.rule, "err", err)
		}
	}
	t.release(st, d.Allow)
	t.m.decided(st.rule, d, time.Since(st.first))
	t.log.Debug("inspected flow decided", "rule", st.rule, "allow", d.Allow, "reason", d.Reason, "name", d.Name)
	return verdictAction(d.Allow)
}

// release gives a flow's held packets their verdict.
func (t *tracker) release(st *flowState, accept bool) {
	for _, h := range st.held {
		h(accept)
	}
	st.org.held -= len(st.held)
	st.held = nil
}

// sweep refuses flows that began sending but kept their decision pending
// too long, and forgets old decisions and idle flows.
func (t *tracker) sweep(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, st := range t.flows {
		switch {
		case !st.decided && !st.data.IsZero() && now.Sub(st.data) > pendingTimeout:
			t.decide(st, refuse(RefuseTimeout, ""))
		case !st.decided && st.data.IsZero() && now.Sub(st.first) > idleForget:
			t.forgetIdle(st)
		case st.decided && now.Sub(st.at) > decidedTTL:
			t.remove(st)
		}
	}
}

// forgetIdle drops the state of a flow that opened but sent nothing, and
// keeps where its stream starts for when it does (bounded by keepStart;
// a flow whose start was let go is refused if it ever sends).
func (t *tracker) forgetIdle(st *flowState) {
	if st.stream.known() {
		t.keepStart(st.org, st.key, st.stream.base)
	}
	t.remove(st)
}

// releaseAll drops every held packet (the inspector is stopping).
func (t *tracker) releaseAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, st := range t.flows {
		t.release(st, false)
	}
}

// covers says every byte of a segment at seq of n bytes is in the stream
// already: a retransmission.
func (s *stream) covers(seq uint32, n int) bool {
	if !s.hasBase || n == 0 {
		return false
	}
	off := int64(int32(seq - s.base))
	if off < 0 || off+int64(n) > int64(len(s.have)) {
		return false
	}
	for _, h := range s.have[off : off+int64(n)] {
		if !h {
			return false
		}
	}
	return true
}
