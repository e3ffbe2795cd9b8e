package datapath

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// CounterOrigin identifies the rule counters the datapath counts in and
// says since when. They start at zero when their map is created: at the
// first load after a boot (bpffs lives in memory) or after `palisade
// clean`; agent restarts and upgrades keep them (rule_stats has no
// migration: a build that changed its layout refuses to load instead).
type CounterOrigin struct {
	BootID  string    `json:"boot_id"` // the kernel's boot id: a reboot made new maps
	MapID   uint32    `json:"map_id"`  // the rule counter map's id: ids are not reused within a boot
	Created time.Time `json:"created"` // when the map was pinned: its bpffs inode's time
}

// Same reports whether o and p are the same counters.
func (o CounterOrigin) Same(p CounterOrigin) bool { return o.BootID == p.BootID && o.MapID == p.MapID }

// CounterOrigin describes the rule counters this datapath counts in.
func (dp *Datapath) CounterOrigin() (CounterOrigin, error) {
	info, err := dp.objs.RuleStats.Info()
	if err != nil {
		return CounterOrigin{}, fmt.Errorf("rule counter map: %w", err)
	}
	id, ok := info.ID()
	if !ok {
		return CounterOrigin{}, fmt.Errorf("rule counter map: the kernel gives no id")
	}
	st, err := os.Stat(filepath.Join(dp.pinPath, "rule_stats"))
	if err != nil {
		return CounterOrigin{}, fmt.Errorf("rule counter map: %w", err)
	}
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return CounterOrigin{}, fmt.Errorf("boot id: %w", err)
	}
	return CounterOrigin{BootID: strings.TrimSpace(string(boot)), MapID: uint32(id), Created: st.ModTime().UTC()}, nil
}
