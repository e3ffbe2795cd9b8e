// Command palisaded is the Palisade agent: it attaches the XDP boundary to
// the gateway's interfaces, publishes the rules and serves metrics. It can
// exit at any time without opening the boundary: what it set up is pinned.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/palisade-psn/palisade/pkg/agent"
	"github.com/palisade-psn/palisade/pkg/metrics"
)

// version is set at build time (-ldflags "-X main.version=...").
var version = "dev"

func main() {
	cfgPath := flag.String("config", agent.DefaultConfigPath, "config file")
	check := flag.Bool("check-config", false, "check the config file and the rules it names, then exit")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo}))
	metrics.Version = version
	log.Info("palisaded starting", "version", version)
	if err := run(*cfgPath, *check, log); err != nil {
		fmt.Fprintln(os.Stderr, "palisaded:", err)
		os.Exit(1)
	}
}

func run(cfgPath string, check bool, log *slog.Logger) error {
	cfg, err := agent.LoadConfig(cfgPath)
	if err != nil {
		return err
	}
	if check {
		return agent.CheckRules(cfg, os.Stdout)
	}
	a, err := agent.New(cfg, log)
	if err != nil {
		return err
	}
	return a.Run(context.Background())
}
