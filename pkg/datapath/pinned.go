package datapath

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf"
)

// Pinned is the state an agent left pinned, opened read-only for the CLI
// (`palisade status`) while the agent runs or after it has gone.
type Pinned struct {
	PinPath  string
	config   *ebpf.Map
	counters *Counters
	closers  []*ebpf.Map
}

// ErrNotLoaded says no agent ever pinned its state under the path.
var ErrNotLoaded = errors.New("palisade is not loaded")

// OpenPinned opens the pinned maps under pin without loading or creating
// anything.
func OpenPinned(pin string) (*Pinned, error) {
	if _, err := os.Stat(filepath.Join(pin, "config")); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w (nothing pinned in %s)", ErrNotLoaded, pin)
	}
	p := &Pinned{PinPath: pin}
	load := func(name string) *ebpf.Map {
		m, err := ebpf.LoadPinnedMap(filepath.Join(pin, name), &ebpf.LoadPinOptions{ReadOnly: true})
		if err != nil {
			return nil
		}
		p.closers = append(p.closers, m)
		return m
	}
	p.config = load("config")
	org, rule, drop, fwd, slots := load("org_stats"), load("rule_stats"), load("drop_stats"), load("fwd_stats"), load("slots")
	if p.config == nil || org == nil || rule == nil || drop == nil || fwd == nil || slots == nil {
		p.Close()
		return nil, fmt.Errorf("open pinned maps in %s: some are missing or unreadable", pin)
	}
	reg, err := readSlots(slots)
	if err != nil {
		p.Close()
		return nil, err
	}
	p.counters = &Counters{orgStats: org, ruleStats: rule, dropStats: drop, fwdStats: fwd, slots: reg,
		orgRefusals: load("org_refusals")} // nil from pins older than issue 17
	return p, nil
}

// Close releases the maps.
func (p *Pinned) Close() error {
	var errs []error
	for _, m := range p.closers {
		errs = append(errs, m.Close())
	}
	return errors.Join(errs...)
}

// Counters gives the pinned counters.
func (p *Pinned) Counters() *Counters { return p.counters }

// PolicyState is the datapath's policy generation as pinned.
type PolicyState struct {
	Loaded     bool
	Generation uint32
	Forwarding bool
}

// Policy reads which policy generation is active.
func (p *Pinned) Policy() (PolicyState, error) {
	var c BoundaryPalConfig
	if err := p.config.Lookup(uint32(0), &c); err != nil {
		return PolicyState{}, fmt.Errorf("read config: %w", err)
	}
	return policyState(c), nil
}
