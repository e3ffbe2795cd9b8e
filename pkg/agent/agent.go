package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
)

// Agent is a running palisaded.
type Agent struct {
	cfg *Config
	log *slog.Logger
	dp  *datapath.Datapath

	mu     sync.Mutex // serialises policy changes (reload, API, signals)
	policy *policy.Compiled
	insp   inspection

	obs   observation // flow log, captures, audit (observe.go)
	apply applyState  // last Reload's outcome, for metrics
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
	a := &Agent{cfg: cfg, log: log, dp: dp}
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
	if err := a.Reload(); err != nil {
		if st, perr := a.pinnedPolicy(); perr == nil && st.Loaded {
			a.log.Error("rules refused; the policy already in the datapath stays enforced", "err", err, "generation", st.Generation)
			return nil
		}
		return err
	}
	return nil
}

func (a *Agent) pinnedPolicy() (datapath.PolicyState, error) {
	p, err := datapath.OpenPinned(a.cfg.PinPath)
	if err != nil {
		return datapath.PolicyState{}, err
	}
	defer p.Close()
	return p.Policy()
}

// Reload reads, validates, compiles and publishes the rules. An invalid rule
// set is refused whole: the running policy stays.
func (a *Agent) Reload() (err error) {
	defer a.apply.note(&err)
	a.mu.Lock()
	defer a.mu.Unlock()
	p, err := rules.Load(a.cfg.Rules)
	if err != nil {
		return fmt.Errorf("load rules from %s:\n%w", a.cfg.Rules, err)
	}
	for _, w := range p.Warnings {
		a.log.Warn("rules", "warning", w.Error())
	}
	c := policy.Compile(p)
	res, err := a.dp.Publish(c, a.cfg.Interfaces)
	if err != nil {
		return err
	}
	for _, s := range res.Skipped {
		a.log.Warn("ingress in rules has no interface on this host; its organisations cannot reach the boundary here", "ingress", s)
	}
	a.policy = c
	a.log.Info("policy published", "generation", res.Generation, "digest", c.Digest[:16],
		"organisations", len(c.Orgs), "rules", len(c.Rules), "entries", res.Entries)
	return nil
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
	a.obs.stopOnce() // switch the flow log off while the maps are still open
	return errors.Join(a.dp.Close())
}

// Policy is the compiled policy last published.
func (a *Agent) Policy() *policy.Compiled {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.policy
}
