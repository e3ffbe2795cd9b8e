// Command palisade-bench runs Palisade's benchmark suite (issue 6) and
// writes results.json, results.md and throughput.svg to -out. Run as root
// on a machine with at least two CPUs; `make bench` runs
// `go run ./bench/cmd/palisade-bench -out bench/results`.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/palisade-psn/palisade/bench/internal/engines"
	"github.com/palisade-psn/palisade/bench/internal/results"
	"github.com/palisade-psn/palisade/bench/internal/suite"
)

func main() {
	out := flag.String("out", "bench/results", "directory for results.json, results.md and throughput.svg")
	quick := flag.Bool("quick", false, "a few seconds' run that only proves the harness works")
	check := flag.Bool("check", false, "measure nothing: check that the results in -out are complete and consistent")
	parts := flag.String("parts", "", "comma-separated parts to run (1-6), for tuning; all when empty")
	ruleCounts := flag.String("rules", "", "comma-separated rule counts, for tuning; the run's own when empty")
	engineNames := flag.String("engines", "", "comma-separated engines for parts 2-3 ("+strings.Join(engines.Names(), ",")+"); all when empty")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if *check {
		if err := results.Check(*out, engines.Names()); err != nil {
			log.Error("results are not complete and consistent", "out", *out, "err", err)
			os.Exit(1)
		}
		log.Info("results are complete and consistent", "out", *out)
		return
	}
	p := suite.Full()
	if *quick {
		p = suite.Quick()
	}
	if err := narrow(&p, *parts, *ruleCounts, *engineNames); err != nil {
		log.Error("bad selection", "err", err)
		os.Exit(2)
	}
	// Ctrl-C stops the run at the next burst and removes its namespaces,
	// programs and pins; a second Ctrl-C kills it outright.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	if _, err := suite.Run(ctx, p, *out, log); err != nil {
		log.Error("benchmark failed", "err", err)
		os.Exit(1)
	}
	log.Info("benchmark done", "out", *out, "took", time.Since(start).Round(time.Second))
}

// narrow limits a run to some parts, rule counts and engines: for tuning
// one thing quickly. Such a run's results are incomplete by design.
func narrow(p *suite.Params, parts, ruleCounts, engineNames string) error {
	var err error
	if p.Parts, err = ints(parts); err != nil {
		return fmt.Errorf("-parts: %w", err)
	}
	if rc, err := ints(ruleCounts); err != nil {
		return fmt.Errorf("-rules: %w", err)
	} else if len(rc) > 0 {
		p.RuleCounts = rc
	}
	if engineNames != "" {
		p.Engines = strings.Split(engineNames, ",")
	}
	return nil
}

func ints(list string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(list, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}
