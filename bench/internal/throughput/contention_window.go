package throughput

import (
	"fmt"
	"sync"
	"time"

	"github.com/palisade-psn/palisade/bench/internal/engines"
	"github.com/palisade-psn/palisade/bench/internal/results"
)

// tally is what the contention scenario's accounting adds up.
type tally struct {
	quietRx, floodRx      uint64 // frames each receiver's XDP program saw
	quietAllowed          uint64 // the quiet organisation's allowed packets
	floodAllowed          uint64 // the flooder's (its flows within its quota)
	noRule, quota, others uint64 // drops: refused by rule, at quota, anything else
	quietSent, floodSent  uint64
}

func (s *contention) read() (tally, error) {
	var t tally
	var err error
	if t.quietRx, err = rx(s.quiet); err != nil {
		return t, err
	}
	if t.floodRx, err = rx(s.flood); err != nil {
		return t, err
	}
	orgs, err := s.dp.Counters().OrgCounts()
	if err != nil {
		return t, err
	}
	t.quietAllowed, t.floodAllowed = orgs[s.quietOrg]["allow"].Packets, orgs[s.floodOrg]["allow"].Packets
	drops, err := s.dp.Counters().DropCounts()
	if err != nil {
		return t, err
	}
	for reason, n := range drops {
		switch reason {
		case "no_rule":
			t.noRule += n.Packets
		case "flow_quota":
			t.quota += n.Packets
		default:
			t.others += n.Packets
		}
	}
	if t.quietSent, err = s.quietGen.Sent(); err != nil {
		return t, err
	}
	t.floodSent, err = s.floodGen.Sent()
	return t, err
}

func rx(p *engines.Pair) (uint64, error) {
	st, err := engines.VethStats(p.FW, p.RxIf)
	if err != nil {
		return 0, err
	}
	return engines.SumQueues(st, "rx", "xdp_packets"), nil
}

// window sends the quiet stream for one window, beside the flood or not,
// and records the quiet organisation's allowed packets per second.
func (s *contention) window(cfg Config, flooded bool) error {
	before, err := s.read()
	if err != nil {
		return err
	}
	var (
		wg       sync.WaitGroup
		stop     = make(chan struct{})
		floodErr error
		floodDur time.Duration
	)
	if flooded {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				took, err := s.floodGen.Burst(1<<14, cfg.GenCPU)
				if err != nil {
					floodErr = err
					return
				}
				floodDur += took
			}
		}()
	}
	secs, err := s.pace(cfg)
	close(stop)
	wg.Wait()
	if err != nil {
		return err
	}
	if floodErr != nil {
		return fmt.Errorf("flood: %w", floodErr)
	}
	drainPairs(s.quiet, s.flood)
	after, err := s.read()
	if err != nil {
		return err
	}
	pps := float64(after.quietAllowed-before.quietAllowed) / secs
	sent := float64(after.quietSent-before.quietSent) / secs
	if flooded {
		s.res.Flooded, s.res.FloodedSent = append(s.res.Flooded, pps), append(s.res.FloodedSent, sent)
		s.res.FloodOffered = append(s.res.FloodOffered, float64(after.floodSent-before.floodSent)/max(floodDur.Seconds(), 1e-9))
		s.res.FloodProcessed = append(s.res.FloodProcessed, float64(after.floodRx-before.floodRx)/secs)
	} else {
		s.res.Alone, s.res.AloneSent = append(s.res.Alone, pps), append(s.res.AloneSent, sent)
	}
	s.account(before, after)
	cfg.Log.Info("contention window", "flooded", flooded, "quiet_allowed_pps", pps, "quiet_sent_pps", sent,
		"flood_sent", after.floodSent-before.floodSent, "accounting", s.res.Accounting)
	return nil
}

// pace sends the quiet stream at quietPps for cfg.Burst: each tick sends
// what the pace owes by then, so a late tick catches up. It returns the
// window's length.
func (s *contention) pace(cfg Config) (float64, error) {
	start := time.Now()
	var sent uint64
	for time.Since(start) < cfg.Burst {
		owed := uint64(time.Since(start).Seconds()*quietPps) - sent
		if owed > 0 {
			if _, err := s.quietGen.Burst(uint32(owed), cfg.GenCPU); err != nil {
				return 0, fmt.Errorf("quiet stream: %w", err)
			}
			sent += owed
		}
		time.Sleep(pacerTick)
	}
	return time.Since(start).Seconds(), nil
}

// drainPairs waits, bounded, until each receiver has seen what its veth
// passed it (see instance.drain).
func drainPairs(ps ...*engines.Pair) {
	deadline := time.Now().Add(10 * time.Second)
	for _, p := range ps {
		for time.Now().Before(deadline) {
			tx, err1 := engines.VethStats(p.Gen, p.TxIf)
			got, err2 := rx(p)
			if err1 != nil || err2 != nil || got >= engines.SumQueues(tx, "tx", "xdp_xmit") {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	time.Sleep(20 * time.Millisecond)
}

// account checks that every quiet frame the receiver saw was allowed, and
// every flood frame was refused by rule, at the quota, or allowed within
// the quota; the first mismatch is kept.
func (s *contention) account(b, a tally) {
	if s.res.Accounting != "" && s.res.Accounting != "ok" {
		return
	}
	qrx, frx := a.quietRx-b.quietRx, a.floodRx-b.floodRx
	qa, fa, nr, q, o := a.quietAllowed-b.quietAllowed, a.floodAllowed-b.floodAllowed, a.noRule-b.noRule, a.quota-b.quota, a.others-b.others
	switch {
	case qrx != qa:
		s.res.Accounting = fmt.Sprintf("quiet receiver saw %d, %s allowed %d", qrx, s.quietOrg, qa)
	case frx != fa+nr+q || o != 0:
		s.res.Accounting = fmt.Sprintf("flood receiver saw %d; %s allowed %d, refused %d by rule and %d at quota; %d other drops", frx, s.floodOrg, fa, nr, q, o)
	default:
		s.res.Accounting = "ok"
		s.res.Checked += qrx + frx
		s.res.FloodRefused["no_rule"] += nr
		s.res.FloodRefused["flow_quota"] += q
		s.res.FloodAllowed += fa
	}
}

// finish sets the medians and the paired ratios: each round's flooded
// window over its undisturbed one.
func (s *contention) finish() error {
	r := s.res
	if len(r.Alone) != r.Rounds || len(r.Flooded) != r.Rounds {
		return fmt.Errorf("contention: %d undisturbed and %d flooded windows, want %d", len(r.Alone), len(r.Flooded), r.Rounds)
	}
	for i := range r.Alone {
		r.RatioRuns = append(r.RatioRuns, r.Flooded[i]/r.Alone[i])
	}
	results.FinishContention(r)
	return nil
}
