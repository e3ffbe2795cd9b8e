package doctor

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/palisade-psn/palisade/pkg/agent"
	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/rules"
)

// target is what the configuration asks for: where to attach, how, and
// which interfaces carry VLAN-tagged organisations.
type target struct {
	configured []string // interfaces in the config
	interfaces []string // those plus the ones named on the command line
	mode       datapath.Mode
	pinPath    string
	vlanIfaces map[string]bool // interfaces some rule's ingress names with a VLAN
	probe      bool            // may attach the pass-all probe program
	policy     *rules.Policy   // the rules, nil if none loaded
	// flowTableSize and flowQuota are the config's (0: built-in, fair share).
	flowTableSize, flowQuota uint32
	results                  []Result // the config and rules checks
}

// loadTarget reads the config and its rules the way palisaded does. A
// missing default config is not an error: doctor also runs before one is
// written, on the interfaces named on the command line.
func loadTarget(h Host, o Options) *target {
	t := &target{mode: datapath.Native, pinPath: datapath.DefaultPinPath, vlanIfaces: map[string]bool{}, probe: o.ProbeXDP}
	cfg, err := agent.LoadConfig(o.ConfigPath)
	switch {
	case errors.Is(err, os.ErrNotExist) && !o.ConfigExplicit:
		t.results = append(t.results, warn("config", "%s not found: only interfaces given with --interface are checked", o.ConfigPath))
	case err != nil:
		t.results = append(t.results, fail("config", "%s", firstLines(err.Error(), 4)))
	default:
		t.configured, t.mode, t.pinPath = cfg.Interfaces, cfg.XDPMode, cfg.PinPath
		t.flowTableSize, t.flowQuota = cfg.FlowTableSize, cfg.FlowQuota
		t.results = append(t.results, ok("config", "%s: interfaces %v, xdp_mode %s", o.ConfigPath, cfg.Interfaces, cfg.XDPMode))
		t.results = append(t.results, t.loadRules(cfg.Rules))
	}
	if o.PinPath != "" {
		t.pinPath = o.PinPath
	}
	t.interfaces = slices.Clone(t.configured)
	for _, i := range o.Interfaces {
		if !slices.Contains(t.interfaces, i) {
			t.interfaces = append(t.interfaces, i)
		}
	}
	return t
}

// loadRules validates the rules and keeps them, for the route check, and
// notes the interfaces with VLAN ingresses, for the VLAN offload check.
func (t *target) loadRules(dir string) Result {
	p, err := rules.Load(dir)
	if err != nil {
		return fail("rules", "%s refused: %s", dir, firstLines(err.Error(), 4))
	}
	t.policy = p
	for _, org := range p.Orgs {
		for _, in := range org.Ingress {
			if in.VLAN != 0 {
				t.vlanIfaces[in.Interface] = true
			}
		}
	}
	detail := fmt.Sprintf("%s: %d organisations", dir, len(p.Orgs))
	if n := len(p.Warnings); n > 0 {
		return warn("rules", "%s, %d warning(s): palisade validate %s", detail, n, dir)
	}
	return ok("rules", "%s", detail)
}

// checkPinned reports interfaces the boundary is still pinned to but the
// config no longer names: they stay enforced with nobody attaching them.
func checkPinned(h Host, t *target) Result {
	pinned, err := h.PinnedLinks(t.pinPath)
	if err != nil {
		return warn("pinned state", "cannot list %s: %v", t.pinPath, err)
	}
	if len(pinned) == 0 {
		return ok("pinned state", "nothing pinned in %s: the boundary is not attached anywhere yet", t.pinPath)
	}
	var stray []string
	for _, p := range pinned {
		if !slices.Contains(t.configured, p) {
			stray = append(stray, p)
		}
	}
	if len(stray) > 0 && len(t.configured) > 0 {
		return warn("pinned state", "still attached to %v, which the config does not name: `palisade detach %s` if that is not meant", stray, stray[0])
	}
	return ok("pinned state", "attached to %v (%s)", pinned, t.pinPath)
}
