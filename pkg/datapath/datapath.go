// Package datapath loads the XDP boundary program, pins it and its maps under
// a bpffs directory, attaches it to interfaces, publishes compiled policy
// generations and reads its counters. Everything it pins survives the agent:
// a restarted agent opens the same maps and swaps its program into the
// pinned links, so enforcement has no gap.
package datapath

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/rlimit"
	"github.com/palisade-psn/palisade/pkg/policy"
	"golang.org/x/sys/unix"
)

// DefaultPinPath is where programs, links and maps are pinned.
const DefaultPinPath = "/sys/fs/bpf/palisade"

// Options shape the datapath before it is loaded.
type Options struct {
	PinPath       string // bpffs directory, DefaultPinPath when empty
	FlowTableSize uint32 // 0 keeps the compiled-in size
}

// Datapath is the loaded boundary program and its (pinned) maps.
type Datapath struct {
	pinPath  string
	objs     BoundaryObjects
	ceilings map[string]uint32 // compiled-in capacities of the tables sized to the policy
	fresh    bool              // policy tables replace pinned ones of another layout; not attached yet (upgrade.go)
	slots    *slotRegistry
	lock     *os.File

	mu        sync.Mutex // serialises publishes and config writes
	lastFlip  flipTime
	published *policy.Compiled     // what this process last made active
	onFlowEnd func(EndedFlow)      // flow-log end records from the sweep
	carry     map[string]*ebpf.Map // pinned state maps of an earlier layout, until CarryOver
	flowQuota uint32               // Settings.FlowQuota
	agentMu   sync.Mutex           // org_agent, the agent's side of the quotas (quota.go)
}

// Open loads the boundary program. Maps already pinned under the pin path
// are reused, not copied, so counters, flows and the running policy carry
// over from a previous agent.
func Open(opts Options) (*Datapath, error) {
	pin := opts.PinPath
	if pin == "" {
		pin = DefaultPinPath
	}
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("remove memlock limit: %w", err)
	}
	if err := ensureBPFFS(filepath.Dir(pin)); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(pin, "links"), 0o700); err != nil {
		return nil, fmt.Errorf("create pin directory: %w", err)
	}
	lock, err := lockDir(pin)
	if err != nil {
		return nil, err
	}
	dp := &Datapath{pinPath: pin, lock: lock}
	if err := dp.load(opts); err != nil {
		lock.Close()
		return nil, err
	}
	return dp, nil
}

func (dp *Datapath) load(opts Options) error {
	spec, err := LoadBoundary()
	if err != nil {
		return fmt.Errorf("load boundary spec: %w", err)
	}
	for name, m := range spec.Maps {
		if name[0] != '.' { // .bss and friends belong to one program load
			m.Pinning = ebpf.PinByName
		}
	}
	dp.ceilings = sizeSpec(spec, dp.pinPath)
	if dp.fresh = stalePolicy(spec, dp.pinPath); dp.fresh {
		unpinPolicySpec(spec)
	}
	if opts.FlowTableSize > 0 {
		spec.Maps["flows"].MaxEntries = opts.FlowTableSize
	}
	stale := staleState(spec, dp.pinPath)
	if err := setBlockSlots(spec); err != nil {
		return err
	}
	err = spec.LoadAndAssign(&dp.objs, &ebpf.CollectionOptions{
		Maps: ebpf.MapOptions{PinPath: dp.pinPath},
	})
	var verr *ebpf.VerifierError
	if errors.As(err, &verr) {
		return fmt.Errorf("load boundary program: %+v", verr)
	}
	if errors.Is(err, ebpf.ErrMapIncompatible) {
		return fmt.Errorf("pinned maps in %s do not match this build (size or layout changed; run `palisade clean` to start afresh): %w", dp.pinPath, err)
	}
	if err != nil {
		return fmt.Errorf("load boundary program: %w", err)
	}
	if err := dp.migrateState(stale); err != nil {
		dp.objs.Close()
		return err
	}
	caps := dp.capacities()
	dp.slots, err = openSlots(dp.pinPath, caps.orgs+caps.ruleSlots)
	if err != nil {
		dp.objs.Close()
		return err
	}
	return dp.initConfig()
}

// Close releases this process's handles. Pinned objects stay: enforcement
// goes on without the agent.
func (dp *Datapath) Close() error {
	dp.closeCarry()
	err := errors.Join(dp.objs.Close(), dp.slots.Close())
	if dp.lock != nil {
		err = errors.Join(err, dp.lock.Close())
	}
	return err
}

// PinPath is the bpffs directory holding the pinned state.
func (dp *Datapath) PinPath() string { return dp.pinPath }

// Program is the boundary XDP program (for tests and benchmarks).
func (dp *Datapath) Program() *ebpf.Program { return dp.objs.XdpBoundary }

// Maps exposes the loaded maps (for tests, counters and the inspector).
func (dp *Datapath) Maps() *BoundaryMaps { return &dp.objs.BoundaryMaps }

// ensureBPFFS mounts bpffs at dir when it is not mounted yet.
func ensureBPFFS(dir string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err == nil && st.Type == unix.BPF_FS_MAGIC {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	if err := unix.Mount("bpf", dir, "bpf", 0, "mode=0700"); err != nil {
		return fmt.Errorf("mount bpffs at %s: %w", dir, err)
	}
	return nil
}

// lockDir keeps two agents from driving the same pinned state.
func lockDir(dir string) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("open pin directory: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s (is another palisaded running?): %w", dir, err)
	}
	return f, nil
}
