package datapath

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf"
)

// The policy tables are rewritten whole by every publish, so a build whose
// tables changed layout need not refuse the pinned ones (which would take
// `palisade clean`, a gap in enforcement, to upgrade). It loads fresh
// tables instead; the program already attached keeps enforcing the pinned
// policy with the old tables until this build has published into its own
// and attached. The fresh tables are written in the active generation
// (nothing reads them yet, so there is no flip) and pinned once they hold
// a policy. State maps (flows, counters, config) are never replaced: a
// build that changes those still says to clean.

// policyMaps are the tables a publish rewrites whole, by pin name.
var policyMaps = []string{"ingresses", "sources", "orgs", "rulesets", "dests", "blocks", "block_prefixes", "port_ranges"}

// stalePolicy says whether any pinned policy table does not match this
// build's spec (sized maps already carry the pinned size).
func stalePolicy(spec *ebpf.CollectionSpec, pin string) bool {
	for _, name := range policyMaps {
		if pinnedOtherLayout(spec, pin, name) {
			return true
		}
	}
	return false
}

// pinnedOtherLayout says whether the map pinned as name does not match
// this build's spec of it; a map not pinned yet does (it is created).
func pinnedOtherLayout(spec *ebpf.CollectionSpec, pin, name string) bool {
	m, err := ebpf.LoadPinnedMap(filepath.Join(pin, name), nil)
	if err != nil {
		return false
	}
	defer m.Close()
	return spec.Maps[name].Compatible(m) != nil
}

// unpinPolicySpec makes the load create every policy table afresh.
func unpinPolicySpec(spec *ebpf.CollectionSpec) {
	for _, name := range policyMaps {
		spec.Maps[name].Pinning = ebpf.PinNone
	}
}

// pinPolicy pins this build's policy tables in place of the pinned ones.
func (dp *Datapath) pinPolicy() error {
	maps := dp.objs.mapsByName()
	var errs []error
	for _, name := range policyMaps {
		path := filepath.Join(dp.pinPath, name)
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		errs = append(errs, maps[name].Pin(path))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("pin policy tables: %w", err)
	}
	return nil
}

// FreshPolicy says whether this datapath's policy tables are new (the
// pinned ones were of another layout) and no interface runs them yet: an
// agent must then publish before it attaches, and must not attach at all
// without a policy.
func (dp *Datapath) FreshPolicy() bool {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	return dp.fresh
}
