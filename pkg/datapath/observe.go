package datapath

import (
	"fmt"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/perf"
	"github.com/cilium/ebpf/ringbuf"
)

// FlowLogSettings switch the datapath's flow-log events. Rate 0 turns the
// flow log off; DropSample 0 logs no refusals, N logs one in N.
type FlowLogSettings struct {
	Rate       uint32 // events a second per CPU, each of flow starts and refusals
	DropSample uint32
}

// SetFlowLog writes the flow-log switches, keeping everything else.
func (dp *Datapath) SetFlowLog(s FlowLogSettings) error {
	return dp.updateConfig(func(c *BoundaryPalConfig) {
		c.LogRate, c.LogDropSample = s.Rate, s.DropSample
	})
}

// SetCapture starts copying the packets of the organisation in orgSlot
// (their first snaplen bytes) to the captures perf buffer; StopCapture ends
// it. One organisation at a time: the datapath compares one config word.
func (dp *Datapath) SetCapture(orgSlot, snaplen uint32) error {
	return dp.updateConfig(func(c *BoundaryPalConfig) {
		c.CaptureSlot, c.CaptureSnaplen = orgSlot+1, snaplen
	})
}

// StopCapture turns the capture off: the datapath is back to one untaken branch.
func (dp *Datapath) StopCapture() error {
	return dp.updateConfig(func(c *BoundaryPalConfig) { c.CaptureSlot = 0 })
}

func (dp *Datapath) updateConfig(change func(*BoundaryPalConfig)) error {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	c, err := dp.readConfig()
	if err != nil {
		return err
	}
	change(&c)
	if err := dp.objs.Config.Put(uint32(0), &c); err != nil {
		return fmt.Errorf("write datapath config: %w", err)
	}
	return nil
}

// EventReader opens the flow-log ring buffer. One reader at a time.
func (dp *Datapath) EventReader() (*ringbuf.Reader, error) {
	r, err := ringbuf.NewReader(dp.objs.Events)
	if err != nil {
		return nil, fmt.Errorf("open flow-log ring buffer: %w", err)
	}
	return r, nil
}

// CaptureWakeup is how many records the kernel gathers before it wakes the
// capture reader. Waking it for every record (an interrupt of the CPU that
// runs the datapath) cost ~8 us a captured packet; a reader must Flush now
// and then to take a quiet capture's last records.
const CaptureWakeup = 64

// CaptureReader opens the captures perf buffer with perCPU bytes per CPU.
func (dp *Datapath) CaptureReader(perCPU int) (*perf.Reader, error) {
	r, err := perf.NewReaderWithOptions(dp.objs.Captures, perCPU, perf.ReaderOptions{WakeupEvents: CaptureWakeup})
	if err != nil {
		return nil, fmt.Errorf("open capture buffer: %w", err)
	}
	return r, nil
}

// OrgSlot is the counter slot of an organisation, as the datapath reports it.
func (dp *Datapath) OrgSlot(org string) (uint32, bool) {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	s, ok := dp.slots.slots[nameKey(kindOrg, org)]
	return s, ok
}

// SlotNames gives slot -> organisation and slot -> rule ("org/id") names,
// for turning events into records.
func (dp *Datapath) SlotNames() (orgs, rules map[uint32]string) {
	dp.mu.Lock()
	defer dp.mu.Unlock()
	return dp.slots.names(kindOrg), dp.slots.names(kindRule)
}

// ObsCounts reads the observation counters by name, summed over CPUs.
func (c *Counters) ObsCounts() (map[string]uint64, error) {
	out := map[string]uint64{}
	if c.obsStats == nil {
		return out, nil
	}
	err := readPerCPU(c.obsStats, uint32(BoundaryPalObsStatPAL_OBS__MAX), func(stat uint32, per []uint64) error {
		name, ok := obsNames[BoundaryPalObsStat(stat)]
		if !ok {
			return nil
		}
		var n uint64
		for _, v := range per {
			n += v
		}
		out[name] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read observability counters: %w", err)
	}
	return out, nil
}

var obsNames = map[BoundaryPalObsStat]string{
	BoundaryPalObsStatPAL_OBS_FLOWS_CREATED:    "flows_created",
	BoundaryPalObsStatPAL_OBS_FLOWS_EXPIRED:    "flows_expired",
	BoundaryPalObsStatPAL_OBS_FLOWS_SWEPT:      "flows_swept",
	BoundaryPalObsStatPAL_OBS_LOG_SENT:         "log_sent",
	BoundaryPalObsStatPAL_OBS_LOG_RATE_LIMITED: "log_rate_limited",
	BoundaryPalObsStatPAL_OBS_LOG_SAMPLED_OUT:  "log_sampled_out",
	BoundaryPalObsStatPAL_OBS_LOG_LOST:         "log_lost",
	BoundaryPalObsStatPAL_OBS_CAPTURED:         "captured",
	BoundaryPalObsStatPAL_OBS_CAPTURE_LOST:     "capture_lost",
}

// addSwept records flows the agent removed, on CPU 0's copy: the datapath
// never writes this one, so the read-modify-write cannot race it.
func (dp *Datapath) addSwept(n int) error {
	cpus, err := ebpf.PossibleCPU()
	if err != nil {
		return err
	}
	per := make([]uint64, cpus)
	key := uint32(BoundaryPalObsStatPAL_OBS_FLOWS_SWEPT)
	if err := dp.objs.ObsStats.Lookup(key, &per); err != nil {
		return fmt.Errorf("read swept flows: %w", err)
	}
	per[0] += uint64(n)
	return dp.objs.ObsStats.Put(key, per)
}

// FlowTableLive counts the flows in the table (walks it: for scrapes, not
// the hot path).
func (c *Counters) FlowTableLive() (int, error) {
	if c.flows == nil {
		return 0, nil
	}
	n := 0
	err := walk(c.flows, func(*BoundaryPalFlowKey, *BoundaryPalFlow) bool { n++; return true })
	if err != nil {
		return n, fmt.Errorf("walk flows: %w", err)
	}
	return n, nil
}

// FlowTableCapacity is the flow table's size.
func (c *Counters) FlowTableCapacity() uint32 {
	if c.flows == nil {
		return 0
	}
	return c.flows.MaxEntries()
}

// WallTime converts a CLOCK_MONOTONIC stamp from the datapath to wall time.
func WallTime(mono uint64) time.Time {
	now := time.Now()
	return now.Add(-time.Duration(monotonicNs() - mono))
}
