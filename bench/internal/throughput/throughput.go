// Package throughput drives every engine with the same refused traffic over
// veth and reports packets per second per engine and rule count, as paired
// ratios: all engines are configured at once, and each round sends one
// burst to each, so slow drift of a shared machine hits them all alike.
package throughput

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/palisade-psn/palisade/bench/internal/results"
	"github.com/palisade-psn/palisade/bench/internal/stats"
	"github.com/palisade-psn/palisade/internal/lab"
)

// Config sizes a throughput run.
type Config struct {
	RuleCounts []int
	Rounds     int           // >= 5 for the report
	Burst      time.Duration // per engine per round, >= 1 s for the report
	Frames     int           // distinct frames each generator cycles through
	GenCPU     int
	RecvCPU    int
	Engines    []string // only these (by name); all when empty
	Log        *slog.Logger
}

// Run measures every engine at every rule count (once for engines whose
// cost does not depend on rules) and returns the figures and paired ratios.
// It stops between bursts when ctx is done, tearing everything down.
func Run(ctx context.Context, cfg Config) ([]results.Throughput, []results.Ratio, error) {
	l, err := lab.New("pb")
	if err != nil {
		return nil, nil, err
	}
	defer l.Close()
	insts, err := build(ctx, l, cfg)
	defer func() {
		for _, in := range insts {
			in.close()
		}
	}()
	if err != nil {
		return nil, nil, err
	}
	live := present(insts)
	for _, in := range live {
		if err := in.calibrate(cfg); err != nil {
			return nil, nil, err
		}
	}
	for r := 0; r < cfg.Rounds; r++ {
		cfg.Log.Info("throughput round", "round", r+1, "of", cfg.Rounds)
		for k := range live {
			if err := ctx.Err(); err != nil {
				return nil, nil, err
			}
			in := live[(k+r)%len(live)] // rotate who goes first
			if err := in.burst(cfg); err != nil {
				return nil, nil, fmt.Errorf("round %d, %s at %d rules: %w", r+1, in.res.Engine, in.res.Rules, err)
			}
		}
	}
	out := make([]results.Throughput, len(insts))
	for i, in := range insts {
		if in.res.Absent == "" {
			in.res.Pps, in.res.CPUPps = stats.Median(in.res.Rounds), stats.Median(in.res.CPURounds)
			in.res.Offered = stats.Median(in.offered)
			in.res.Busy, in.res.Waiting = stats.Median(in.busy), stats.Median(in.waiting)
		}
		out[i] = in.res
	}
	return out, Ratios(out), nil
}

func present(insts []*instance) []*instance {
	var out []*instance
	for _, in := range insts {
		if in.res.Absent == "" {
			out = append(out, in)
		}
	}
	return out
}
