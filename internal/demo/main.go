// Command demo is `make demo`: it builds the standard lab of network
// namespaces, runs palisaded on its gateway with the example rules, sends
// traffic that the rules allow and refuse, and shows what the boundary did:
// verdicts, per-organisation counters, drop reasons and metrics. Everything
// it creates is removed when it ends, also on failure or Ctrl-C.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/palisade-psn/palisade/internal/agenttest"
	"github.com/palisade-psn/palisade/internal/lab"
	"github.com/palisade-psn/palisade/internal/scenario"
	"github.com/palisade-psn/palisade/pkg/datapath"
)

func main() {
	bin := flag.String("bin", "bin", "directory holding palisaded and palisade")
	rules := flag.String("rules", "rules", "rules directory")
	mode := flag.String("mode", "native", "XDP mode: native or generic")
	flag.Parse()
	if err := run(*bin, *rules, datapath.Mode(*mode)); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func step(format string, args ...any) {
	fmt.Printf("\n\033[1m==> "+format+"\033[0m\n", args...)
}

func run(binDir, rulesDir string, mode datapath.Mode) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("the demo makes network namespaces and loads BPF: run it as root")
	}
	bins, err := binaries(binDir)
	if err != nil {
		return err
	}
	rulesDir, _ = filepath.Abs(rulesDir)
	step("Validating the example rules in %s", rulesDir)
	if err := show(bins.Palisade, "validate", rulesDir); err != nil {
		return err
	}
	step("Building the lab: organisation hosts, the gateway, service hosts (network namespaces)")
	l, err := lab.New("pdemo")
	if err != nil {
		return err
	}
	defer func() { step("Tearing the lab down"); l.Close() }()
	stopSignals := closeOnSignal(l)
	defer stopSignals()
	gw, err := lab.NewGateway(l, lab.StandardSpec())
	if err != nil {
		return err
	}
	stop, err := scenario.Prepare(gw)
	if err != nil {
		return err
	}
	defer stop()
	tmp, err := os.MkdirTemp("", "palisade-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	a, err := agenttest.New(gw.GW, bins, agenttest.Config{
		Rules: rulesDir, Interfaces: gw.GWIfs, Mode: mode, Forwarding: true, Metrics: "127.0.0.1:9469",
	}, tmp)
	if err != nil {
		return err
	}
	defer a.Close()
	step("Starting palisaded on the gateway (XDP %s on %s)", mode, strings.Join(gw.GWIfs, ", "))
	if err := a.Start(30 * time.Second); err != nil {
		return err
	}
	fmt.Print(indent(a.Logs()))
	return exercise(gw, a)
}

func exercise(gw *lab.Gateway, a *agenttest.Agent) error {
	step("Sending traffic: every exchange below is real TCP, UDP or ICMP between namespaces")
	wrong := 0
	for _, r := range scenario.RunAll(gw, scenario.Standard) {
		verdict := "\033[32mallowed\033[0m"
		if r.Err != nil {
			verdict = "\033[31mrefused\033[0m"
		}
		mark := "as the rules say"
		if !r.OK() {
			mark, wrong = "\033[41mNOT WHAT THE RULES SAY\033[0m", wrong+1
		}
		fmt.Printf("  %-8s %-4s %-15s -> %-22s %s  %s  (%s)\n", r.Host, r.Kind, r.Src, r.Dst, verdict, mark, r.Why)
	}
	step("What the boundary counted: palisade status")
	out, _ := a.CLI("status")
	fmt.Print(indent(out))
	step("Prometheus metrics (a few lines of http://127.0.0.1:9469/metrics on the gateway)")
	fmt.Print(indent(scrape(gw, "palisade_drops_total", "palisade_packets_total{org=\"elmbridge-bc\"", "palisade_allowed_packets_total")))
	if err := demoCapture(gw, a); err != nil {
		return err
	}
	step("The flow log (EVE-shaped JSON lines): palisade flows --limit 4")
	out, _ = a.CLI("flows", "--limit", "4")
	fmt.Print(indent(out))
	step("The audit log: who changed the boundary, and the captures taken (palisade audit)")
	out, _ = a.CLI("audit")
	fmt.Print(indent(out))
	step("Stopping the agent: enforcement stays, the program and maps are pinned")
	a.Stop()
	r := scenario.RunAll(gw, scenario.Standard[:3])
	for _, x := range r {
		fmt.Printf("  agent gone, %s -> %s: %s\n", x.Src, x.Dst, map[bool]string{true: "allowed", false: "refused"}[x.Err == nil])
	}
	if wrong > 0 {
		return fmt.Errorf("%d exchanges did not get the verdict the rules give", wrong)
	}
	step("Done: every exchange got the verdict the rules give")
	return nil
}

func binaries(dir string) (agenttest.Binaries, error) {
	abs, _ := filepath.Abs(dir)
	b := agenttest.Binaries{Dir: abs, Palisaded: filepath.Join(abs, "palisaded"), Palisade: filepath.Join(abs, "palisade")}
	for _, p := range []string{b.Palisaded, b.Palisade} {
		if _, err := os.Stat(p); err != nil {
			return b, fmt.Errorf("%s missing: run `make build` first", p)
		}
	}
	return b, nil
}

func show(bin string, args ...string) error {
	out, err := execOut(bin, args...)
	fmt.Print(indent(out))
	return err
}

// scrape fetches /metrics from inside the gateway namespace.
func scrape(gw *lab.Gateway, prefixes ...string) string {
	body, err := gw.GW.HTTPGet("127.0.0.1:9469", "/metrics", 3*time.Second)
	if err != nil {
		return "scrape failed: " + err.Error() + "\n"
	}
	var keep []string
	for _, line := range strings.Split(body, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(line, p) && !strings.HasSuffix(line, " 0") {
				keep = append(keep, line)
			}
		}
	}
	return strings.Join(keep, "\n") + "\n"
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ") + "\n"
}

// closeOnSignal removes the lab if the demo is interrupted.
func closeOnSignal(l *lab.Lab) func() {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		if ctx.Err() != nil && context.Cause(ctx) != context.Canceled {
			l.Close()
			os.Exit(130)
		}
	}()
	return cancel
}
