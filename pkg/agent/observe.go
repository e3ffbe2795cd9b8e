package agent

import (
	"errors"
	"sync"
	"time"

	"github.com/cilium/ebpf/ringbuf"
	"github.com/palisade-psn/palisade/pkg/audit"
	"github.com/palisade-psn/palisade/pkg/capture"
	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/flows"
	"github.com/palisade-psn/palisade/pkg/policy"
)

// observation is what the agent runs for responders: the flow log fed by
// the datapath's ring buffer, captures, and the audit log of captures.
type observation struct {
	flows    *flows.Logger // nil when the flow log is off
	file     *flows.File
	events   *ringbuf.Reader
	captures *capture.Manager
	audit    *audit.Log
	done     chan struct{}

	stop   sync.Once
	stopFn func()

	namesMu  sync.Mutex
	names    *flows.Names // slot names for the policy namesFor
	namesFor *policy.Compiled
}

// startObservation opens the audit log, the flow log and the capture
// manager, and switches the datapath's flow-log events on. stop may be
// called more than once.
func (a *Agent) startObservation() (stop func(), err error) {
	fn, err := a.openObservation()
	if err != nil {
		return nil, err
	}
	a.obs.stopFn = fn
	return a.obs.stopOnce, nil
}

// stopOnce ends what startObservation began, once; a no-op before it.
func (o *observation) stopOnce() {
	if o.stopFn != nil {
		o.stop.Do(o.stopFn)
	}
}

func (a *Agent) openObservation() (stop func(), err error) {
	o := &a.obs
	// One audit log per agent: two writers would each keep their own idea
	// of the chain's head and break it.
	if o.audit = a.audit; o.audit == nil {
		if o.audit, err = audit.Open(a.cfg.auditLog()); err != nil {
			return nil, err
		}
	}
	if o.captures, err = capture.NewManager(a.dp, o.audit, a.cfg.captureDir(), a.log); err != nil {
		return nil, err
	}
	fl := a.cfg.flowLog()
	if fl.Path == "off" {
		return o.captures.Close, a.dp.SetFlowLog(datapath.FlowLogSettings{})
	}
	if err := a.startFlowLog(fl); err != nil {
		return nil, err
	}
	return a.stopObservation, nil
}

func (a *Agent) startFlowLog(fl FlowLog) (err error) {
	o := &a.obs
	if o.file, err = flows.OpenFile(fl.Path, fl.MaxBytes, fl.Files); err != nil {
		return err
	}
	if o.events, err = a.dp.EventReader(); err != nil {
		o.file.Close()
		return err
	}
	o.flows = flows.NewLogger(o.file, a.flowNames, a.log)
	o.done = make(chan struct{})
	go func() { defer close(o.done); o.flows.Run(o.events) }()
	a.dp.OnFlowEnd(o.flows.Ended)
	a.log.Info("flow log", "path", fl.Path, "rate_per_cpu", fl.Rate, "drop_sample", *fl.DropSample)
	return a.dp.SetFlowLog(datapath.FlowLogSettings{Rate: fl.Rate, DropSample: *fl.DropSample})
}

// stopObservation switches the events off (the pinned datapath goes on
// without an agent: it must not fill a ring buffer nobody reads), then
// ends the reader and the running capture.
func (a *Agent) stopObservation() {
	o := &a.obs
	o.captures.Close()
	err := a.dp.SetFlowLog(datapath.FlowLogSettings{})
	a.dp.OnFlowEnd(nil)
	err = errors.Join(err, o.events.Close())
	<-o.done
	err = errors.Join(err, o.file.Close())
	if err != nil {
		a.log.Error("stop flow log", "err", err)
	}
}

// flowNames resolves slots for the flow log. Slots change only when a
// policy is published, so the names are rebuilt only when the policy is a
// new one: at 100,000 rules, rebuilding per event would cost more than the
// event.
func (a *Agent) flowNames() *flows.Names {
	p := a.Policy()
	o := &a.obs
	o.namesMu.Lock()
	defer o.namesMu.Unlock()
	if o.names != nil && o.namesFor == p {
		return o.names
	}
	orgs, rules := a.dp.SlotNames()
	o.names, o.namesFor = &flows.Names{Orgs: orgs, Rules: rules}, p
	if p != nil {
		o.names.PolicyDigest, o.names.StateDigest = p.PolicyDigest, p.Digest
	}
	return o.names
}

// applyState is the outcome of the last Reload.
type applyState struct {
	mu sync.Mutex
	ok bool
	at time.Time
}

func (s *applyState) note(err *error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ok, s.at = *err == nil, time.Now()
}
