package datapath

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf"
)

// State maps (flows, counters) carry over from the agent before, so an
// upgrade keeps established connections and counts. When a build changes
// one's layout it is loaded afresh and the pinned contents are copied in
// by the map's migration; the old program, still attached, keeps its own
// until this build attaches. Flows opened in that window are lost, which
// a client's retransmitted SYN or next datagram mends. A state map with
// no migration still refuses to load (`palisade clean`).
var stateMigrations = map[string]func(old, cur *ebpf.Map) error{
	"flows":      copyGrownValues, // the reply ingress was appended to each flow
	"drop_stats": copyPerCPUCounters,
	"frags":      nil, // seconds-lived: starts empty
}

// staleState lists the pinned state maps whose layout differs from this
// build's and which have a migration; the load creates them afresh.
func staleState(spec *ebpf.CollectionSpec, pin string) []string {
	var stale []string
	for name := range stateMigrations {
		if pinnedOtherLayout(spec, pin, name) {
			spec.Maps[name].Pinning = ebpf.PinNone
			stale = append(stale, name)
		}
	}
	return stale
}

// migrateState copies each stale pinned map into this build's and pins
// this build's in its place.
func (dp *Datapath) migrateState(stale []string) error {
	maps := dp.objs.mapsByName()
	for _, name := range stale {
		path := filepath.Join(dp.pinPath, name)
		old, err := ebpf.LoadPinnedMap(path, nil)
		if err != nil {
			return fmt.Errorf("open pinned %s: %w", name, err)
		}
		if copyIn := stateMigrations[name]; copyIn != nil {
			err = copyIn(old, maps[name])
		}
		old.Close()
		if err != nil {
			return fmt.Errorf("carry %s over to this build's layout: %w", name, err)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if err := maps[name].Pin(path); err != nil {
			return fmt.Errorf("pin %s: %w", name, err)
		}
	}
	return nil
}

// copyGrownValues copies a hash map whose keys are unchanged and whose
// values grew at their end: the new bytes start zero.
func copyGrownValues(old, cur *ebpf.Map) error {
	if old.KeySize() != cur.KeySize() || old.ValueSize() > cur.ValueSize() {
		return fmt.Errorf("key %d -> %d, value %d -> %d bytes: not a grown value",
			old.KeySize(), cur.KeySize(), old.ValueSize(), cur.ValueSize())
	}
	k, v := make([]byte, old.KeySize()), make([]byte, old.ValueSize())
	nv := make([]byte, cur.ValueSize())
	it := old.Iterate()
	for it.Next(k, v) {
		copy(nv, v)
		if err := cur.Update(k, nv, ebpf.UpdateNoExist); err != nil && !errors.Is(err, ebpf.ErrKeyExist) {
			return err
		}
	}
	return it.Err()
}

// copyPerCPUCounters copies a per-CPU counter array into a longer one.
func copyPerCPUCounters(old, cur *ebpf.Map) error {
	n := min(old.MaxEntries(), cur.MaxEntries())
	for i := uint32(0); i < n; i++ {
		var per []BoundaryPalCounter
		if err := old.Lookup(i, &per); err != nil {
			return err
		}
		if err := cur.Put(i, per); err != nil {
			return err
		}
	}
	return nil
}
