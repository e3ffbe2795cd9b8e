package throughput

import (
	"fmt"
	"time"

	"github.com/palisade-psn/palisade/bench/internal/engines"
)

// counts are the counters the accounting check adds up.
type counts struct {
	sent    uint64 // frames the generator handed to XDP_TX
	xmit    uint64 // frames the sending veth put in the receiver's ring
	xmitErr uint64 // frames it could not (ring full: the engine was slower)
	rx      uint64 // frames the receiver's XDP program saw
	refused uint64 // packets the engine refused
}

func (in *instance) read() (counts, error) {
	var c counts
	var err error
	if c.sent, err = in.gen.Sent(); err != nil {
		return c, err
	}
	tx, err := engines.VethStats(in.pair.Gen, in.pair.TxIf)
	if err != nil {
		return c, err
	}
	c.xmit, c.xmitErr = engines.SumQueues(tx, "tx", "xdp_xmit"), engines.SumQueues(tx, "tx", "xdp_xmit_errors")
	if c.rx, err = in.rxPackets(); err != nil {
		return c, err
	}
	c.refused, err = in.eng.Refused(in.pair)
	return c, err
}

func (in *instance) rxPackets() (uint64, error) {
	rx, err := engines.VethStats(in.pair.FW, in.pair.RxIf)
	if err != nil {
		return 0, err
	}
	return engines.SumQueues(rx, "rx", "xdp_packets"), nil
}

// burst sends one burst. Two rates come of it: packets the receiver
// processed per second of the burst, and per second of CPU its NAPI
// threads got (see napiTimes). Frames still queued when the generator
// stops count for the accounting (after draining), not for the rates.
func (in *instance) burst(cfg Config) error {
	before := in.counted
	t0, err := napiTimes(in.pair.NAPI)
	if err != nil {
		return err
	}
	start := time.Now()
	took, err := in.gen.Burst(in.frames, cfg.GenCPU)
	if err != nil {
		return err
	}
	// The receiver may still be busy with its ring: its packets are
	// counted a moment before its CPU time, so the rate errs low, if at all.
	rxEnd, err := in.rxPackets()
	if err != nil {
		return err
	}
	t1, err := napiTimes(in.pair.NAPI)
	if err != nil {
		return err
	}
	window := time.Since(start)
	in.drain()
	after, err := in.read()
	if err != nil {
		return err
	}
	in.record(float64(rxEnd-before.rx), took.Seconds(), window.Seconds(), t0, t1)
	offered := float64(after.sent-before.sent) / took.Seconds()
	in.offered = append(in.offered, offered)
	in.size(offered, cfg)
	in.account(before, after)
	in.counted = after
	return nil
}

// record keeps a burst's rates: processed over the burst's seconds, and
// over the receiver's CPU seconds, whose shares are of the whole window
// in which they were read.
func (in *instance) record(processed, secs, window float64, t0, t1 cpuTimes) {
	run, wait := float64(t1.run-t0.run)/1e9, float64(t1.wait-t0.wait)/1e9
	in.res.Rounds = append(in.res.Rounds, processed/secs)
	in.res.CPURounds = append(in.res.CPURounds, processed/max(run, 1e-9))
	in.busy = append(in.busy, run/window)
	in.waiting = append(in.waiting, wait/window)
}

// drain waits, bounded, until the receiver has seen every frame the
// sending veth passed it: a slow engine takes a while over a full ring,
// and the next burst must not inherit it. Counters move once per NAPI
// poll, so "no change lately" would stop too early; the tail wait lets
// the last poll's packets through the stack after its counters moved.
func (in *instance) drain() {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		tx, err1 := engines.VethStats(in.pair.Gen, in.pair.TxIf)
		rx, err2 := in.rxPackets()
		if err1 != nil || err2 != nil || rx >= engines.SumQueues(tx, "tx", "xdp_xmit") {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond)
}

// account checks that every frame sent is either refused by the veth (ring
// full) or seen by the receiver, and that every frame seen was refused by
// the engine. The first mismatch is kept; Checked says how much added up.
func (in *instance) account(b, a counts) {
	if in.res.Accounting != "" && in.res.Accounting != "ok" {
		return
	}
	sent, xmit, xerr, rx, ref := a.sent-b.sent, a.xmit-b.xmit, a.xmitErr-b.xmitErr, a.rx-b.rx, a.refused-b.refused
	switch {
	case sent != xmit+xerr:
		in.res.Accounting = fmt.Sprintf("generator sent %d, veth passed %d and refused %d", sent, xmit, xerr)
	case xmit != rx:
		in.res.Accounting = fmt.Sprintf("veth passed %d, receiver saw %d", xmit, rx)
	case rx != ref:
		in.res.Accounting = fmt.Sprintf("receiver saw %d, engine refused %d", rx, ref)
	default:
		in.res.Checked += sent
		in.res.Accounting = "ok"
	}
}
