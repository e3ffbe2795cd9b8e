package inspect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultQueues: 2 fail-closed queues (4200-4201) and 2 fail-open ones
// (4202-4203), one consumer goroutine each.
var DefaultQueues = Queues{First: 4200, N: 2}

// Inspector is the running userspace inspector of flagged flows.
type Inspector struct {
	q      Queues
	t      *tracker
	m      *Metrics
	cons   []*consumer
	cancel context.CancelFunc
	done   chan struct{}
	log    *slog.Logger

	w         *watcher
	stopWatch context.CancelFunc
	watchDone chan struct{}
}

// Start binds the queues, then installs the queue path that fills them
// (in this order, so no packet meets a queue nobody reads), watches it,
// and sweeps flows whose decision takes too long.
func Start(table FlowTable, rules RuleFinder, q Queues, b Budget, log *slog.Logger) (*Inspector, error) {
	if q.N == 0 {
		return nil, errors.New("inspect: no queues")
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := newMetrics()
	in := &Inspector{q: q, t: newTracker(table, rules, b, m, log), m: m, cancel: cancel, done: make(chan struct{}), log: log}
	for i := range 2 * q.N {
		c, err := openConsumer(ctx, q.First+i, i >= q.N, in.t, m, log)
		if err != nil {
			in.close()
			return nil, err
		}
		in.cons = append(in.cons, c)
	}
	if err := install(ctx, q.runningRules()); err != nil {
		in.close()
		return nil, err
	}
	w, err := newWatcher(ctx, q.runningRules(), m, log)
	if err != nil {
		in.close()
		return nil, err
	}
	wctx, stopWatch := context.WithCancel(ctx)
	in.w, in.stopWatch, in.watchDone = w, stopWatch, make(chan struct{})
	go func() {
		defer close(in.watchDone)
		w.run(wctx)
	}()
	go in.sweep(ctx)
	clo, chi := q.closed()
	olo, ohi := q.open()
	log.Info("inspector started", "closed_queues", fmt.Sprintf("%d-%d", clo, chi), "open_queues", fmt.Sprintf("%d-%d", olo, ohi))
	return in, nil
}

func (in *Inspector) sweep(ctx context.Context) {
	defer close(in.done)
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			in.t.sweep(now)
		}
	}
}

// Stop swaps the queue rules for the stopped ones (fail-closed flows
// dropped, fail-open ones passed, as declared), releases held packets and
// unbinds the queues.
func (in *Inspector) Stop() error {
	in.stopWatch() // or it would put the running rules back
	<-in.watchDone
	err := install(context.Background(), stoppedRules())
	in.t.releaseAll()
	in.close()
	<-in.done
	return err
}

func (in *Inspector) close() {
	in.cancel()
	for _, c := range in.cons {
		c.close()
	}
	in.cons = nil
}

// Guard installs the stopped rules unless a chain is already there: from
// the first moment the datapath marks packets, none may pass unqueued and
// uninspected, even before the inspector runs.
func Guard() error {
	return install(context.Background(), stoppedRules())
}

// QueuePath is the queue path as the watcher last found it.
func (in *Inspector) QueuePath() QueuePathState { return in.w.State() }

// Collectors are the inspector's metrics for the agent's registry.
func (in *Inspector) Collectors() []prometheus.Collector {
	return append(in.m.Collectors(), kernelStats{in.q}, budgetStats{in.t})
}
