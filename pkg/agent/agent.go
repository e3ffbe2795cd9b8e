package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	"github.com/palisade-psn/palisade/pkg/audit"
	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
	"github.com/palisade-psn/palisade/pkg/sdnotify"
	"github.com/prometheus/client_golang/prometheus"
)

// Agent is a running palisaded.
type Agent struct {
	cfg *Config
	log *slog.Logger
	dp  *datapath.Datapath

	mu     sync.Mutex // serialises policy changes (reload, API, signals)
	policy *policy.Compiled
	insp   inspection

	obs       observation // flow log, captures (observe.go)
	lastApply applyState  // last apply's outcome, for metrics

	// Policy lifecycle, all under mu: the rules as loaded, the same with the
	// agent's runtime narrowing folded in (what plans compare), the
	// persistent state, the audit log and the change counter. policy is
	// the loaded rules compiled and narrowed (policy.Narrow): its
	// PolicyDigest is the rules', its Digest the state's, its suspended
	// flags what the datapath holds.
	loaded, folded *rules.Policy
	state          *state
	audit          *audit.Log
	changes        *prometheus.CounterVec
	counting       *counting // since when each rule is counted (counting.go)
}

// New loads the datapath (taking over pinned state an earlier agent left),
// attaches it to the configured interfaces and publishes the rules. When the
// rules are invalid but an earlier policy is pinned, that policy keeps being
// enforced and the error is logged; with nothing to fall back on, New fails.
func New(cfg *Config, log *slog.Logger) (*Agent, error) {
	dp, err := datapath.Open(datapath.Options{PinPath: cfg.PinPath, FlowTableSize: cfg.FlowTableSize})
	if err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, log: log, dp: dp, changes: newChangeCounter()}
	if err := a.openLifecycle(); err != nil {
		dp.Close()
		return nil, err
	}
	if err := a.start(); err != nil {
		dp.Close()
		return nil, err
	}
	return a, nil
}

func (a *Agent) start() error {
	if err := a.dp.Configure(a.cfg.settings()); err != nil {
		return err
	}
	if err := a.guardInspected(); err != nil {
		return err
	}
	// Publish first, then attach: a program taking over from an earlier
	// agent's (possibly of an older build, with other tables) starts with
	// the policy already in its tables.
	if a.dp.FreshPolicy() {
		a.log.Warn("pinned policy tables are an earlier build's layout: publishing into fresh ones before taking the links over; the running program enforces until then")
	}
	if err := a.publishAtStart(); err != nil {
		return err
	}
	for _, ifname := range a.cfg.Interfaces {
		at, err := a.dp.Attach(ifname, a.cfg.XDPMode)
		if err != nil {
			return err
		}
		if at.Mode == datapath.Generic {
			a.log.Warn("XDP in GENERIC mode: enforcement is correct but runs after the kernel allocates socket buffers, far below line rate; use a driver with native XDP in production",
				"iface", ifname)
		}
		a.log.Info("xdp attached", "iface", ifname, "ifindex", at.Ifindex, "mode", at.Mode, "took_over", at.Replaced)
	}
	// Every link runs this build now: state of an earlier layout can be
	// taken over whole (flows the old program opened until the switch).
	return a.dp.CarryOver()
}

// publishAtStart publishes the rules. When they are refused, the policy an
// earlier agent pinned stays enforced, if this build can use its tables;
// if not (an upgrade that changed them), the agent stops before attaching
// and the running program keeps enforcing it.
func (a *Agent) publishAtStart() error {
	err := a.Reload()
	if err == nil {
		return nil
	}
	if a.dp.FreshPolicy() {
		return fmt.Errorf("rules refused, and the policy the running program enforces is in tables of an earlier build that this one does not read: that program stays attached and enforcing; fix the rules and start again: %w", err)
	}
	if st, perr := a.pinnedPolicy(); perr == nil && st.Loaded {
		a.log.Error("rules refused; the policy already in the datapath stays enforced", "err", err, "generation", st.Generation)
		return nil
	}
	return err
}

func (a *Agent) pinnedPolicy() (datapath.PolicyState, error) {
	p, err := datapath.OpenPinned(a.cfg.PinPath)
	if err != nil {
		return datapath.PolicyState{}, err
	}
	defer p.Close()
	return p.Policy()
}

// Reload applies the configured rules directory (at start, on SIGHUP and
// when the directory changes). An invalid rule set is refused whole: the
// running policy stays.
func (a *Agent) Reload() error {
	_, err := a.Apply(a.cfg.Rules, "palisaded")
	return err
}

// Run serves until ctx ends or SIGTERM/SIGINT; SIGHUP reloads the rules.
// Leaving keeps programs, links and maps pinned: enforcement goes on.
func (a *Agent) Run(ctx context.Context) error {
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sig)
	stopInspector, err := a.startInspector()
	if err != nil {
		return err
	}
	defer stopInspector()
	stopObs, err := a.startObservation()
	if err != nil {
		return err
	}
	defer stopObs()
	srv, err := a.serveMetrics()
	if err != nil {
		return err
	}
	defer srv.close()
	api, err := a.serveControl()
	if err != nil {
		return err
	}
	defer api.Close()
	gc := a.startFlowGC(ctx)
	defer gc()
	stopWatch := a.watchRules(ctx)
	defer stopWatch()
	stopCompliance := a.startComplianceCheck(ctx)
	defer stopCompliance()
	// systemd (Type=notify) counts the agent started only now: attached,
	// policy published, APIs up. Outside systemd this does nothing.
	if err := sdnotify.Ready(fmt.Sprintf("enforcing on %s", strings.Join(a.cfg.Interfaces, ", "))); err != nil {
		a.log.Warn("tell systemd we are ready", "err", err)
	}
	for {
		select {
		case <-ctx.Done():
			return a.leave()
		case s := <-sig:
			if s != syscall.SIGHUP {
				a.log.Info("leaving; enforcement stays in place", "signal", s.String())
				return a.leave()
			}
			if err := a.Reload(); err != nil {
				a.log.Error("reload refused; the running policy stays", "err", err)
			}
		}
	}
}

func (a *Agent) leave() error {
	_ = sdnotify.Stopping()
	a.obs.stopOnce() // switch the flow log off while the maps are still open
	return errors.Join(a.dp.Close())
}

// Policy is the compiled policy last published.
func (a *Agent) Policy() *policy.Compiled {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.policy
}

// openLifecycle reads the persistent state and opens the audit log.
func (a *Agent) openLifecycle() error {
	st, err := loadState(a.cfg.StateDir)
	if err != nil {
		return err
	}
	a.state = st
	if a.audit, err = audit.Open(a.cfg.AuditLog); err != nil {
		return fmt.Errorf("open audit log: %w", err)
	}
	for org, s := range st.Suspended {
		a.log.Info("organisation stays suspended", "org", org, "reason", s.Reason, "by", s.By)
	}
	return nil
}
