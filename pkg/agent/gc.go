package agent

import (
	"context"
	"time"
)

const flowSweepEvery = 10 * time.Second

// startFlowGC sweeps idle flows and expired first fragments in the
// background until stopped: their room goes back to their organisation.
func (a *Agent) startFlowGC(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(flowSweepEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				live, removed, err := a.dp.SweepFlows()
				if err != nil {
					a.log.Error("sweep idle flows", "err", err)
					continue
				}
				if removed > 0 {
					a.log.Debug("idle flows swept", "removed", removed, "live", live)
				}
				if _, err := a.dp.SweepFragments(); err != nil {
					a.log.Error("sweep expired fragments", "err", err)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}
