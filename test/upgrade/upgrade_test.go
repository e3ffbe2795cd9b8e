// Package upgrade runs a package upgrade's restart in the lab, under
// traffic: palisaded built as the old version runs the standard gateway,
// exchanges allowed and refused by the example policy run every 20 ms,
// the old agent is stopped (SIGTERM, as systemd does) and the new binary
// started on the same config and pin path. No refused exchange may ever
// get through, every allowed one must keep working, and each interface
// must keep its one pinned link, now running the new program.
package upgrade

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/palisade-psn/palisade/internal/agenttest"
	"github.com/palisade-psn/palisade/internal/lab"
	"github.com/palisade-psn/palisade/internal/scenario"
	"github.com/palisade-psn/palisade/pkg/datapath"
)

// Phases of the upgrade the probes are counted in.
const (
	phaseOld     = iota // the old agent runs
	phaseNoAgent        // old agent stopped, new one loading
	phaseNew            // the new agent has taken over
)

var phaseNames = []string{"old agent running", "no agent (upgrade in progress)", "new agent running"}

func TestUpgradeUnderTraffic(t *testing.T) {
	upgradeUnderTraffic(t, nil)
}

// TestUpgradeAcrossPolicyLayoutChange is the same upgrade when the old
// build's pinned policy tables have another layout than the new build's
// (here: the pinned rulesets table is swapped for one with other values
// between the stop and the start; the old program keeps its own). The new
// agent must load fresh tables, publish, and take over with no gap.
func TestUpgradeAcrossPolicyLayoutChange(t *testing.T) {
	pin := upgradeUnderTraffic(t, func(pinPath string) {
		path := filepath.Join(pinPath, "rulesets")
		if err := os.Remove(path); err != nil {
			t.Fatal(err)
		}
		m, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 16})
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if err := m.Pin(path); err != nil {
			t.Fatal(err)
		}
	})
	m, err := ebpf.LoadPinnedMap(filepath.Join(pin, "rulesets"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.ValueSize() == 8 {
		t.Error("the new agent left the earlier build's rulesets table pinned")
	}
}

// upgradeUnderTraffic stops the old agent under probes, runs between (when
// not nil) with the agent gone, starts the new one, and checks verdicts
// and the takeover of every link. It returns the pin path.
func upgradeUnderTraffic(t *testing.T, between func(pinPath string)) string {
	if os.Geteuid() != 0 {
		t.Skip("upgrade test: needs root (network namespaces, XDP, bpffs)")
	}
	oldBin, newBin := buildVersion(t, "old", os.Getenv("PALISADE_UPGRADE_FROM")), buildVersion(t, "new", "")
	gw, agent := startGateway(t, oldBin)
	warmUp(t, gw)
	before := snapshot(t, gw, agent.PinPath)

	p := startProber(gw)
	time.Sleep(time.Second)
	p.setPhase(phaseNoAgent)
	if err := agent.Stop(); err != nil {
		p.finish()
		t.Fatal(err)
	}
	if between != nil {
		between(agent.PinPath)
	}
	time.Sleep(200 * time.Millisecond) // traffic with no agent at all
	agent.Bin = newBin
	start := time.Now()
	if err := agent.Start(30 * time.Second); err != nil {
		p.finish()
		t.Fatal(err)
	}
	t.Logf("new agent ready %v after start", time.Since(start).Round(time.Millisecond))
	p.setPhase(phaseNew)
	time.Sleep(time.Second)
	attempts := p.finish()

	checkVerdicts(t, attempts)
	checkTakeover(t, agent, before, snapshot(t, gw, agent.PinPath))
	return agent.PinPath
}

// buildVersion builds both commands of tree (this one when empty) with
// the version stamped in, as the package does, each version into its own
// directory. PALISADE_UPGRADE_FROM names an earlier release's tree (a git
// worktree, say) to upgrade from, for a release's own check of a real
// upgrade; without it both sides are this tree.
func buildVersion(t *testing.T, version, tree string) agenttest.Binaries {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("needs the go tool to build palisaded")
	}
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-ldflags", "-X main.version="+version, "-o", dir+"/", "./cmd/palisaded", "./cmd/palisade")
	cmd.Dir = tree
	if tree == "" {
		cmd.Dir = "../.."
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", version, err, out)
	}
	b := agenttest.Binaries{Dir: dir, Palisaded: filepath.Join(dir, "palisaded"), Palisade: filepath.Join(dir, "palisade")}
	if out, _ := exec.Command(b.Palisade, "version").Output(); !strings.Contains(string(out), version) {
		t.Fatalf("%s reports %q, not %s", b.Palisade, out, version)
	}
	return b
}

// startGateway builds the standard lab with its echo servers and runs the
// agent (native XDP, forwarding in XDP) on every gateway interface.
func startGateway(t *testing.T, bin agenttest.Binaries) (*lab.Gateway, *agenttest.Agent) {
	t.Helper()
	l := lab.NewT(t) // skips unless root
	gw, err := lab.NewGateway(l, lab.StandardSpec())
	if err != nil {
		t.Fatal(err)
	}
	stop, err := scenario.Prepare(gw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	rules, _ := filepath.Abs("../../rules")
	a := agenttest.StartT(t, gw.GW, bin, agenttest.Config{Rules: rules, Interfaces: gw.GWIfs, Mode: datapath.Native, Forwarding: true})
	return gw, a
}

// warmUp waits until every allowed exchange works once, so neighbour
// resolution is not counted against the upgrade.
func warmUp(t *testing.T, gw *lab.Gateway) {
	t.Helper()
	for _, c := range allowedChecks {
		var err error
		for range 5 {
			if err = scenario.TryWithin(gw, c, 2*time.Second); err == nil {
				break
			}
		}
		if err != nil {
			t.Fatalf("before the upgrade, %v failed: %v", c, err)
		}
	}
}

// checkVerdicts: no refused exchange ever succeeded, and no allowed one
// failed, in any phase; every check ran in every phase.
func checkVerdicts(t *testing.T, attempts []attempt) {
	t.Helper()
	type tally struct{ ok, failed int }
	counts := map[string]*tally{}
	for _, a := range attempts {
		key := fmt.Sprintf("%s | %s", phaseNames[a.phase], a.check)
		if counts[key] == nil {
			counts[key] = &tally{}
		}
		if a.err == nil {
			counts[key].ok++
		} else {
			counts[key].failed++
		}
		switch {
		case a.check.Allow && a.err != nil:
			t.Errorf("%s: allowed exchange failed: %v", phaseNames[a.phase], a.err)
		case !a.check.Allow && a.err == nil:
			t.Errorf("%s: REFUSED exchange got through: %v", phaseNames[a.phase], a.check)
		}
	}
	for phase := range phaseNames {
		for _, c := range append(append([]scenario.Check{}, allowedChecks...), refusedChecks...) {
			key := fmt.Sprintf("%s | %s", phaseNames[phase], c)
			if n := counts[key]; n == nil {
				t.Errorf("no exchange tried: %s", key)
			} else {
				t.Logf("%-70s %4d ok %4d failed", key, n.ok, n.failed)
			}
		}
	}
}

// checkTakeover: the new agent took every pinned link over; each link is
// the same kernel object as before, now running a different (the new)
// program, and ip(8) shows that one program, natively, and nothing else.
func checkTakeover(t *testing.T, a *agenttest.Agent, before, after map[string]attachment) {
	t.Helper()
	if n := strings.Count(a.Logs(), "took_over=true"); n != len(before) {
		t.Errorf("new agent took %d of %d links over:\n%s", n, len(before), a.Logs())
	}
	for ifname, b := range before {
		n := after[ifname]
		t.Logf("%s: before %v; after %v", ifname, b, n)
		switch {
		case n.linkID != b.linkID:
			t.Errorf("%s: link %d replaced by link %d; the pinned link must stay", ifname, b.linkID, n.linkID)
		case n.linkProg == b.linkProg:
			t.Errorf("%s: link still runs the old program %d", ifname, b.linkProg)
		case n.ipProgs != 1 || n.ipProg != n.linkProg || n.ipMode != 1:
			t.Errorf("%s: ip shows %d program(s), id %d mode %d; want only the link's program %d, native", ifname, n.ipProgs, n.ipProg, n.ipMode, n.linkProg)
		}
		if kind, prog, ok := bpftoolLink(t, n.linkID); ok && (kind != "xdp" || prog != n.linkProg) {
			t.Errorf("%s: bpftool shows link %d as %s running %d", ifname, n.linkID, kind, prog)
		}
	}
}
