package progcost

import (
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/palisade-psn/palisade/bench/internal/baseline"
	"github.com/palisade-psn/palisade/bench/internal/results"
	"github.com/palisade-psn/palisade/bench/internal/synth"
	"github.com/palisade-psn/palisade/internal/packets"
)

// The spread method (part 3): the repeat method's one frame keeps every
// map entry it touches in the cache, so its cost hardly grows with the rule
// count. Here each run is the next of SpreadFlows frames, each a flow of
// its own towards a random rule, written over the packet by xdp_spread
// (bench/bpf/baseline.c), which then tail-calls the program measured: the
// lookups find their buckets and entries as on a busy gateway, mostly not
// in the cache. The same driver in front of the empty program is the
// denominator.

// spreadFrameLen is SPREAD_FRAME_LEN in bench/bpf/baseline.c: every frame
// is padded to it (Ethernet padding after the IP packet).
const spreadFrameLen = 96

// spreader runs a program over many frames in turn.
type spreader struct {
	objs *baseline.BaselineObjects
}

// load puts the frames into the driver, from its first.
func (s *spreader) load(frames [][]byte) error {
	if len(frames) > int(s.objs.SpreadFrames.MaxEntries()) {
		return fmt.Errorf("%d frames, the driver holds %d", len(frames), s.objs.SpreadFrames.MaxEntries())
	}
	for i, f := range frames {
		if len(f) > spreadFrameLen {
			return fmt.Errorf("frame %d is %d bytes, more than %d", i, len(f), spreadFrameLen)
		}
		var v baseline.BaselineSpreadFrame
		copy(v.Bytes[:], f)
		if err := s.objs.SpreadFrames.Put(uint32(i), &v); err != nil {
			return fmt.Errorf("put frame %d: %w", i, err)
		}
	}
	if err := s.objs.SpreadNext.Set(uint32(0)); err != nil {
		return err
	}
	return s.objs.SpreadNframes.Set(uint32(len(frames)))
}

// run runs prog behind the driver repeat times in one call.
func (s *spreader) run(prog *ebpf.Program, repeat int) (cpuRun, error) {
	if err := s.objs.SpreadTarget.Put(uint32(0), prog); err != nil {
		return cpuRun{}, fmt.Errorf("point the spread driver at the program: %w", err)
	}
	return cpuTimed(s.objs.XdpSpread, make([]byte, spreadFrameLen), repeat)
}

func frames(ts []synth.Tuple, flags uint8) [][]byte {
	out := make([][]byte, len(ts))
	for i, t := range ts {
		out[i] = frame(t, flags)
	}
	return out
}

// spreadCases measures a refused decision and a flow-table hit, each over
// SpreadFlows flows of family fam.
func (m *meter) spreadCases(fam int) ([]results.Cost, error) {
	refused, err := m.set.Spread(m.compiled, loIngress, fam, results.SpreadFlows, false)
	if err != nil {
		return nil, err
	}
	if err := m.spr.load(frames(refused, packets.SYN)); err != nil {
		return nil, err
	}
	r, err := m.spread(results.RefusedSpread, fam, xdpDrop, func(before, after counts, extra uint64) error {
		return after.expect(before, counts{noRule: m.measured()}, extra)
	})
	if err != nil {
		return nil, err
	}
	h, err := m.spreadHit(fam)
	if err != nil {
		return nil, err
	}
	return []results.Cost{r, h}, nil
}

// spreadHit opens SpreadFlows allowed flows with their SYNs, then measures
// ACKs of them: every run a hit, none a new flow or a drop.
func (m *meter) spreadHit(fam int) (results.Cost, error) {
	ts, err := m.set.Spread(m.compiled, loIngress, fam, results.SpreadFlows, true)
	if err != nil {
		return results.Cost{}, err
	}
	if err := m.spr.load(frames(ts, packets.SYN)); err != nil {
		return results.Cost{}, err
	}
	before, err := m.counts()
	if err != nil {
		return results.Cost{}, err
	}
	if _, err := m.spr.run(m.prog, len(ts)); err != nil {
		return results.Cost{}, err
	}
	after, err := m.counts()
	if err != nil {
		return results.Cost{}, err
	}
	if err := after.expect(before, counts{created: uint64(distinct(ts))}, 0); err != nil {
		return results.Cost{}, fmt.Errorf("open the spread flows: %w", err)
	}
	if err := m.spr.load(frames(ts, packets.ACK)); err != nil {
		return results.Cost{}, err
	}
	return m.spread(results.FlowHitSpread, fam, xdpPass, func(before, after counts, _ uint64) error {
		return after.expect(before, counts{}, 0)
	})
}

// spread measures the frames loaded in the driver like the repeat method
// does one frame (see repeated), each run ending with want, and check
// judges what the datapath counted over the measured calls, given how
// many runs at most calls cut short and measured again added (extra).
func (m *meter) spread(name string, fam int, want uint32, check func(before, after counts, extra uint64) error) (results.Cost, error) {
	c := results.Cost{Case: name, Family: fam, Rules: m.rules, Method: results.Spread}
	before, err := m.counts()
	if err != nil {
		return c, err
	}
	extra, err := m.timeRuns(&c, m.prog, want, m.cfg.Repeat, m.spr.run)
	if err != nil {
		return c, err
	}
	after, err := m.counts()
	if err != nil {
		return c, err
	}
	if err := check(before, after, extra); err != nil {
		return c, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

// measured is how many runs of the program one spread figure makes.
func (m *meter) measured() uint64 { return uint64(m.cfg.Runs) * uint64(m.cfg.Repeat) }

// counts is what the datapath counted that tells which path runs took.
type counts struct {
	noRule, otherDrops, created uint64
}

func (m *meter) counts() (counts, error) {
	ctr := m.dp.Counters()
	drops, err := ctr.DropCounts()
	if err != nil {
		return counts{}, err
	}
	obs, err := ctr.ObsCounts()
	if err != nil {
		return counts{}, err
	}
	var c counts
	for reason, n := range drops {
		if reason == "no_rule" {
			c.noRule += n.Packets
		} else {
			c.otherDrops += n.Packets
		}
	}
	c.created = obs["flows_created"]
	return c, nil
}

// expect checks that c is before plus want, give or take up to extra
// more refused for no rule (runs of calls cut short and made again).
func (c counts) expect(before, want counts, extra uint64) error {
	got := counts{c.noRule - before.noRule, c.otherDrops - before.otherDrops, c.created - before.created}
	more := got.noRule - want.noRule
	if got.otherDrops != want.otherDrops || got.created != want.created || got.noRule < want.noRule || more > extra {
		return fmt.Errorf("datapath counted %d refused for no rule, %d other drops, %d new flows; want %d (up to %d more), %d, %d",
			got.noRule, got.otherDrops, got.created, want.noRule, extra, want.otherDrops, want.created)
	}
	return nil
}

func distinct(ts []synth.Tuple) int {
	seen := map[synth.Tuple]bool{}
	for _, t := range ts {
		seen[t] = true
	}
	return len(seen)
}
