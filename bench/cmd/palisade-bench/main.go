// Command palisade-bench runs Palisade's benchmark suite (issue 6) and
// writes results.json, results.md and throughput.svg to -out. Run as root
// on a machine with at least two CPUs; `make bench` runs
// `go run ./bench/cmd/palisade-bench -out bench/results`.
package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"os/signal"
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
