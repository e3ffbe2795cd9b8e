package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/internal/scenario"
	"github.com/palisade-psn/palisade/pkg/datapath"
)

// prober keeps trying an allowed exchange and several refused ones, and
// tallies the results by phase of the test.
type prober struct {
	phase   atomic.Int32
	mu      sync.Mutex
	allowed map[int32][2]int // phase -> [ok, failed]
	refused int
	leaked  []string // refused exchanges that got through
	stop    chan struct{}
	wg      sync.WaitGroup
}

var (
	allowedProbe  = probe("surrey", "tcp", "198.18.1.10", "198.19.10.10:443", true)
	refusedProbes = []scenario.Check{
		probe("surrey", "tcp", "198.18.1.10", "198.19.10.10:22", false),
		probe("police", "udp", "198.18.3.10", "198.19.10.10:6000", false),
		probe("elmbridge", "tcp", "198.18.5.10", "198.19.10.10:443", false),
		probe("svcA", "tcp", "198.19.10.10", "198.18.1.10:8080", false),
	}
)

func probe(host, kind, src, dst string, allow bool) scenario.Check {
	return scenario.Check{Host: host, Kind: kind, Src: src, Dst: dst, Allow: allow, Why: "probe"}
}

func startProber(g *gatewayLab) *prober {
	p := &prober{allowed: map[int32][2]int{}, stop: make(chan struct{})}
	p.loop(20*time.Millisecond, func() {
		err := scenario.TryWithin(g.gw, allowedProbe, time.Second)
		p.mu.Lock()
		c := p.allowed[p.phase.Load()]
		if err == nil {
			c[0]++
		} else {
			c[1]++
		}
		p.allowed[p.phase.Load()] = c
		p.mu.Unlock()
	})
	for _, b := range refusedProbes {
		p.loop(10*time.Millisecond, func() {
			leak := scenario.TryWithin(g.gw, b, 300*time.Millisecond) == nil
			p.mu.Lock()
			p.refused++
			if leak {
				p.leaked = append(p.leaked, b.String())
			}
			p.mu.Unlock()
		})
	}
	return p
}

// loop runs fn until stopped, and at most 30 s whatever the test does.
func (p *prober) loop(every time.Duration, fn func()) {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case <-p.stop:
				return
			case <-deadline:
				return
			case <-time.After(every):
			}
			fn()
		}
	}()
}

func (p *prober) finish() { close(p.stop); p.wg.Wait() }

// TestEnforcementSurvivesTheAgent kills the agent (SIGKILL, as a crash),
// keeps traffic going while it is gone, starts it again, then stops it
// (SIGTERM): at no point may a refused packet pass, and allowed traffic
// keeps flowing while no agent runs.
func TestEnforcementSurvivesTheAgent(t *testing.T) {
	g := startLab(t, datapath.Native, true)
	p := startProber(g)
	time.Sleep(time.Second)
	p.phase.Store(1)
	if err := g.agent.Kill(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	p.phase.Store(2)
	if err := g.agent.Start(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(g.agent.Logs(), "took_over=true") {
		t.Errorf("restarted agent did not take the pinned links over:\n%s", g.agent.Logs())
	}
	time.Sleep(time.Second)
	p.phase.Store(3)
	if err := g.agent.Stop(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	p.finish()
	if len(p.leaked) > 0 {
		t.Errorf("%d of %d refused exchanges got through, first: %s", len(p.leaked), p.refused, p.leaked[0])
	}
	t.Logf("%d refused exchanges tried, none got through", p.refused)
	for phase, name := range []string{"agent running", "agent killed", "agent restarted", "agent stopped"} {
		c := p.allowed[int32(phase)]
		if c[0] == 0 {
			t.Errorf("%s: no allowed exchange succeeded (%d failed)", name, c[1])
		}
		t.Logf("%s: %d allowed exchanges succeeded, %d failed", name, c[0], c[1])
	}
	assertAttachedOnce(t, g)
	assertDetach(t, g)
}

// assertDetach: `palisade detach` takes the program off every interface,
// after which the kernel forwards what the policy refused.
func assertDetach(t *testing.T, g *gatewayLab) {
	t.Helper()
	if out, err := g.agent.CLI("detach", "--config", g.agent.CfgPath); err != nil {
		t.Fatalf("palisade detach: %v\n%s", err, out)
	}
	for _, ifname := range g.gw.GWIfs {
		out, _ := exec.Command("nsenter", "--net=/run/netns/"+g.gw.GW.Name, "ip", "-d", "link", "show", "dev", ifname).CombinedOutput()
		if strings.Contains(string(out), "prog/xdp") {
			t.Errorf("%s still carries an XDP program after detach:\n%s", ifname, out)
		}
	}
	if err := scenario.TryWithin(g.gw, refusedProbes[0], 2*time.Second); err != nil {
		t.Errorf("with the boundary detached, the kernel should forward %v: %v", refusedProbes[0], err)
	}
}

// assertAttachedOnce: each gateway interface carries exactly one XDP program.
func assertAttachedOnce(t *testing.T, g *gatewayLab) {
	t.Helper()
	for _, ifname := range g.gw.GWIfs {
		out, err := exec.Command("nsenter", "--net=/run/netns/"+g.gw.GW.Name, "ip", "-d", "link", "show", "dev", ifname).CombinedOutput()
		if err != nil {
			t.Fatalf("ip link: %v\n%s", err, out)
		}
		if n := strings.Count(string(out), "prog/xdp id"); n != 1 {
			t.Errorf("%s carries %d XDP programs, want 1:\n%s", ifname, n, out)
		}
	}
}

// TestInvalidRulesKeepThePolicy breaks a rule file and reloads: the agent
// refuses it with file:line:col and goes on enforcing the policy it had,
// also across a restart; fixing the file and reloading publishes again.
func TestInvalidRulesKeepThePolicy(t *testing.T) {
	g := startLab(t, datapath.Native, true)
	rules := filepath.Join(t.TempDir(), "rules")
	if err := exec.Command("cp", "-r", "../../rules", rules).Run(); err != nil {
		t.Fatal(err)
	}
	rewriteRules(t, g, rules)
	police := filepath.Join(rules, "organisations", "surrey-police.yaml")
	good, err := os.ReadFile(police)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(good), "198.18.3.0/24", "198.18.3.0/33", 1)
	if broken == string(good) {
		t.Fatal("test needs 198.18.3.0/24 in surrey-police.yaml")
	}
	os.WriteFile(police, []byte(broken), 0o644)
	if err := g.agent.Reload(); err != nil {
		t.Fatal(err)
	}
	waitLog(t, g, "reload refused")
	if !strings.Contains(g.agent.Logs(), "surrey-police.yaml:") {
		t.Errorf("refusal does not name the file:\n%s", g.agent.Logs())
	}
	runChecks(t, g.gw, scenario.Standard[:4])
	g.agent.Kill()
	if err := g.agent.Start(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	runChecks(t, g.gw, scenario.Standard[12:16])
	os.WriteFile(police, good, 0o644)
	before := strings.Count(g.agent.Logs(), "policy published")
	g.agent.Reload()
	waitFor(t, func() bool { return strings.Count(g.agent.Logs(), "policy published") > before }, "policy published again")
}

func rewriteRules(t *testing.T, g *gatewayLab, rules string) {
	t.Helper()
	b, _ := os.ReadFile(g.agent.CfgPath)
	abs, _ := filepath.Abs("../../rules")
	os.WriteFile(g.agent.CfgPath, []byte(strings.Replace(string(b), abs, rules, 1)), 0o600)
	g.agent.Kill()
	if err := g.agent.Start(30 * time.Second); err != nil {
		t.Fatal(err)
	}
}

func waitLog(t *testing.T, g *gatewayLab, s string) {
	t.Helper()
	waitFor(t, func() bool { return strings.Contains(g.agent.Logs(), s) }, s)
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
