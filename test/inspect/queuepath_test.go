package inspect_test

// Issue 18: the queue path (the mangle chain PALISADE-INSPECT, PREROUTING's
// jump to it, the blackhole ip rules) keeps fail-closed flows closed when
// the firewall is flushed: under traffic with the agent running (which puts
// it back within a second), and with the agent killed (the blackhole rule
// alone), where doctor reports it missing.

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/pkg/doctor"
	"github.com/palisade-psn/palisade/pkg/inspect"
)

var iptablesFamilies = []struct{ name, cmd string }{{"ipv4", "iptables"}, {"ipv6", "ip6tables"}}

// queuePath is the gateway's queue path as iptables-save prints it: per
// family, the chain's rules and the hook's jumps to it.
func (il *inspectLab) queuePath(t *testing.T) map[string]string {
	t.Helper()
	path := map[string]string{}
	for _, f := range iptablesFamilies {
		out, err := il.gwExec(f.cmd+"-save", "-t", "mangle")
		if err != nil {
			t.Fatalf("%s-save: %v", f.cmd, err)
		}
		var chain, jump []string
		for _, l := range strings.Split(out, "\n") {
			switch {
			case strings.HasPrefix(l, "-A "+inspect.Chain+" "):
				chain = append(chain, l)
			case strings.HasPrefix(l, "-A PREROUTING ") && strings.HasSuffix(l, "-j "+inspect.Chain):
				jump = append(jump, l)
			}
		}
		path[f.name+" chain"] = strings.Join(chain, "\n")
		path[f.name+" jump"] = strings.Join(jump, "\n")
	}
	return path
}

func (il *inspectLab) gwExec(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := il.gw.GW.Exec(ctx, name, args...)
	return string(out), err
}

// flushMangle flushes the mangle table of both families in the gateway, as
// a firewall reload would; it returns when each family's flush returned.
func (il *inspectLab) flushMangle(t *testing.T) map[string]time.Time {
	t.Helper()
	done := map[string]time.Time{}
	for _, f := range iptablesFamilies {
		if out, err := il.gwExec(f.cmd, "-w", "-t", "mangle", "-F"); err != nil {
			t.Fatalf("%s -t mangle -F: %v %s", f.cmd, err, out)
		}
		done[f.name] = time.Now()
	}
	return done
}

// restoresLogged are the times the agent logged putting back a part of the
// queue path ("ipv4 chain"...), after since.
func (il *inspectLab) restoresLogged(since time.Time) map[string]time.Time {
	at := map[string]time.Time{}
	for _, l := range strings.Split(il.agent.Logs(), "\n") {
		if !strings.Contains(l, "queue path part was missing; restored") {
			continue
		}
		ts, _, _ := strings.Cut(strings.TrimPrefix(l, "time="), " ")
		when, err := time.Parse(time.RFC3339Nano, ts)
		_, part, _ := strings.Cut(l, `part="`)
		part, _, _ = strings.Cut(part, `"`)
		if err == nil && part != "" && !when.Before(since.Truncate(time.Millisecond)) {
			at[part] = when
		}
	}
	return at
}

// checkRunningPath: the running agent's queue path, both families: the
// chain queues (fail-open with a bypass), PREROUTING jumps to it.
func checkRunningPath(t *testing.T, path map[string]string) {
	t.Helper()
	for _, f := range iptablesFamilies {
		chain := path[f.name+" chain"]
		if strings.Count(chain, "NFQUEUE") != 2 || !strings.Contains(chain, "--queue-bypass") || !strings.Contains(chain, "MARK") {
			t.Errorf("%s mangle %s: want the re-marking rule and two queue rules (fail-open with a bypass):\n%s", f.name, inspect.Chain, chain)
		}
		if path[f.name+" jump"] == "" {
			t.Errorf("%s: no jump from mangle PREROUTING to %s", f.name, inspect.Chain)
		}
	}
}

// blackholeRules are the gateway's ip rules of both families that drop the
// inspect mark.
func (il *inspectLab) blackholeRules(t *testing.T) []string {
	t.Helper()
	var rules []string
	for _, fam := range []string{"-4", "-6"} {
		out, err := il.gwExec("ip", fam, "rule", "show")
		if err != nil {
			t.Fatalf("ip %s rule show: %v", fam, err)
		}
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, fmt.Sprintf("%d:", inspect.BlackholePref)) && strings.Contains(l, "fwmark 0x50a10000") && strings.Contains(l, "blackhole") {
				rules = append(rules, fam+" "+strings.TrimSpace(l))
			}
		}
	}
	return rules
}

// (a) The mangle table flushed (both families) while surrey-cc keeps
// opening fail-closed flows naming a tenant it may not reach: the server
// reads none of their bytes, the agent puts the queue path back within a
// second (counted), and allowed flows work again.
func testQueuePathFlushed(t *testing.T, il *inspectLab) {
	want := il.queuePath(t)
	checkRunningPath(t, want)
	if bh := il.blackholeRules(t); len(bh) != 2 {
		t.Errorf("blackhole ip rules (pref %d): %q, want one per family", inspect.BlackholePref, bh)
	}
	restored := il.scrape(t, "palisade_inspect_queue_path_restored_total")
	read4, read6 := served.at(cloud4), served.at(cloud6)
	hello := captureHello(t, "evil.example")

	// The client loop: bounded in flows and time; stops once the path has
	// been back for a while.
	stop := make(chan struct{})
	var (
		wg                      sync.WaitGroup
		mu                      sync.Mutex
		flows, opened, answered int
		clients                 []string
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		deadline := time.Now().Add(6 * time.Second)
		for i := 0; i < 80 && time.Now().Before(deadline); i++ {
			select {
			case <-stop:
				if i >= 8 { // at least a few, whatever the timing
					return
				}
			default:
			}
			src, dst := "198.18.1.10", cloud4
			if i%2 == 1 {
				src, dst = "2001:db8:1::10", cloud6
			}
			c, err := il.dial("surrey", src, dst, 500*time.Millisecond)
			mu.Lock()
			flows++
			mu.Unlock()
			if err != nil {
				continue // its SYN dropped: the blackhole while the chain is gone
			}
			c.SetNoDelay(true)
			c.Write(hello)
			back := nothingBack(c, 100*time.Millisecond)
			c.Close()
			mu.Lock()
			opened++
			clients = append(clients, c.LocalAddr().String())
			if back != nil {
				answered++
			}
			mu.Unlock()
		}
	}()

	time.Sleep(300 * time.Millisecond)
	flushed := time.Now()
	flushDone := il.flushMangle(t)
	gone := time.Now()
	var back time.Duration
	var now map[string]string
	for deadline := flushed.Add(2 * time.Second); ; {
		now = il.queuePath(t)
		if equalPath(now, want) {
			back = time.Since(gone)
			break
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // more flows through the restored path
	close(stop)
	wg.Wait()
	time.Sleep(200 * time.Millisecond)

	// The restore as the agent logged it: each part against its family's
	// flush (the watcher may put IPv4 back before IPv6 is flushed).
	var slowest time.Duration
	var parts []string
	for part, when := range il.restoresLogged(flushed) {
		fam, _, _ := strings.Cut(part, " ")
		took := when.Sub(flushDone[fam])
		slowest = max(slowest, took)
		parts = append(parts, fmt.Sprintf("%s %v", part, took.Round(time.Millisecond)))
	}
	sort.Strings(parts)
	t.Logf("parts restored, as the agent logged them, after their family's flush: %s", strings.Join(parts, ", "))

	var readByClients int64
	for _, c := range clients {
		readByClients += served.from(c)
	}
	got4, got6 := served.at(cloud4)-read4, served.at(cloud6)-read6
	n := il.scrape(t, "palisade_inspect_queue_path_restored_total") - restored
	t.Logf("mangle flushed (both families, %v): queue path back %v after (polled every 50 ms); %.0f parts restored; %d flows to evil.example (%d opened, %d answered), the servers read %d bytes (IPv4 %d, IPv6 %d)",
		gone.Sub(flushed).Round(time.Millisecond), back.Round(time.Millisecond), n, flows, opened, answered, readByClients, got4, got6)
	il.dumpMetrics(t, "palisade_inspect_queue_path")
	switch {
	case back == 0:
		t.Errorf("queue path not restored within 2s of the flush; now:\n%v\nwant:\n%v", now, want)
	case len(parts) != 4:
		t.Errorf("the agent logged restoring %q, want the chain and the jump of both families", parts)
	case slowest > time.Second:
		t.Errorf("queue path part restored %v after the flush, want within 1s", slowest)
	}
	if n < 1 {
		t.Errorf("palisade_inspect_queue_path_restored_total went up by %.0f, want the restored parts counted", n)
	}
	if v := il.scrape(t, "palisade_inspect_queue_path_intact"); v != 1 {
		t.Errorf("palisade_inspect_queue_path_intact = %v after the restore, want 1", v)
	}
	if readByClients != 0 || got4 != 0 || got6 != 0 || answered != 0 {
		t.Errorf("fail-closed flows naming evil.example while the firewall was flushed: the servers read %d bytes (IPv4 listener %d, IPv6 %d), %d got an answer; want none", readByClients, got4, got6, answered)
	}
	if out, err := il.agent.CLI("status"); err != nil || !strings.Contains(out, "queue path intact") || !strings.Contains(out, "restored") {
		t.Errorf("palisade status after the restore: %v, want the queue path intact and restored:\n%s", err, out)
	} else {
		t.Logf("palisade status: %s", grepLine(out, "queue path"))
	}
	if flows < 5 {
		t.Errorf("only %d flows tried during the flush", flows)
	}
	for _, c := range []struct{ src, dst string }{{"198.18.1.10", cloud4}, {"2001:db8:1::10", cloud6}} {
		if err := il.tlsExchange("surrey", c.src, c.dst, "files.cloud.psn.example", 2, 0); err != nil {
			t.Errorf("allowed SNI after the restore (%s): %v", c.dst, err)
		}
	}
}

func equalPath(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

// (b) The mechanism alone: the agent killed (SIGKILL, so nothing cleans up
// or restores), the mangle table flushed. Fail-closed flows get nothing to
// the server, not even their SYN (the blackhole ip rule); fail-open ones
// pass uninspected, as declared; doctor reports the queue path missing.
// The restarted agent puts it back.
func testQueuePathNoAgent(t *testing.T, il *inspectLab) {
	begin := time.Now()
	want := il.queuePath(t)
	checkRunningPath(t, want)
	if err := il.agent.Kill(); err != nil {
		t.Fatal(err)
	}
	running := false
	defer func() {
		if !running {
			if err := il.agent.Start(60 * time.Second); err != nil {
				t.Errorf("restart the agent: %v", err)
			}
		}
	}()
	il.flushMangle(t)
	time.Sleep(300 * time.Millisecond)
	if now := il.queuePath(t); now["ipv4 chain"] != "" || now["ipv4 jump"] != "" || now["ipv6 chain"] != "" || now["ipv6 jump"] != "" {
		t.Fatalf("flushed with no agent, the queue path is still there: %v", now)
	}
	bh := il.blackholeRules(t)
	for _, r := range bh {
		t.Logf("ip rule: %s", r)
	}
	if len(bh) != 2 {
		t.Errorf("blackhole ip rules (pref %d) with the agent gone: %q, want one per family", inspect.BlackholePref, bh)
	}

	il.closedStaysClosed(t, "mangle flushed")
	t.Logf("%v: flows tried", time.Since(begin).Round(time.Millisecond))

	// doctor: the queue path missing is a FAIL.
	res, out := il.doctor(t)
	t.Logf("%v: doctor ran", time.Since(begin).Round(time.Millisecond))
	found := false
	for _, r := range res.Results {
		if r.Status != doctor.OK {
			t.Logf("doctor: %s %s %s: %s", r.Status, r.Check, r.Subject, r.Detail)
		}
		if strings.Contains(strings.ToLower(r.Check), "queue path") {
			found = true
			if r.Status != doctor.Fail || !strings.Contains(r.Detail, "ipv4 chain") || !strings.Contains(r.Detail, "ipv6 jump") {
				t.Errorf("doctor with the queue path flushed: %s %q, want FAIL naming the missing parts", r.Status, r.Detail)
			}
		}
	}
	if !found || res.OK {
		t.Errorf("doctor with the queue path flushed: no queue path check, or ok=%v:\n%s", res.OK, out)
	}

	if out, err := il.agent.CLI("status"); !strings.Contains(out, "QUEUE PATH MISSING") {
		t.Errorf("palisade status with the queue path flushed and no agent: %v, want it reported missing:\n%s", err, out)
	} else {
		t.Logf("palisade status: %s", grepLine(out, "QUEUE PATH"))
	}

	// The most a firewall reload can do: every table of both families gone.
	if out, err := il.gwExec("nft", "flush", "ruleset"); err != nil {
		t.Fatalf("nft flush ruleset: %v %s", err, out)
	}
	il.closedStaysClosed(t, "nft flush ruleset")
	t.Logf("%v: flows tried after nft flush ruleset", time.Since(begin).Round(time.Millisecond))

	if err := il.agent.Start(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	running = true
	t.Logf("%v: agent restarted", time.Since(begin).Round(time.Millisecond))
	var now map[string]string
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if now = il.queuePath(t); equalPath(now, want) || time.Now().After(deadline) {
			break
		}
	}
	if !equalPath(now, want) {
		t.Errorf("restarted agent: queue path\n%v\nwant\n%v", now, want)
	}
	if err := il.tlsExchange("surrey", "198.18.1.10", cloud4, "files.cloud.psn.example", 2, 0); err != nil {
		t.Errorf("restarted agent: allowed SNI: %v", err)
	}
	res, out = il.doctor(t)
	for _, r := range res.Results {
		if strings.Contains(strings.ToLower(r.Check), "queue path") && r.Status != doctor.OK {
			t.Errorf("doctor after the restart: %s %q, want ok\n%s", r.Status, r.Detail, out)
		}
	}
}

// doctor runs `palisade doctor` with the agent's config in the gateway
// (no XDP probe: the boundary is attached).
func (il *inspectLab) doctor(t *testing.T) (*doctor.Report, string) {
	t.Helper()
	out, err := il.agent.CLI("doctor", "--config", il.agent.CfgPath, "--no-xdp-probe", "-o", "json")
	if ee, isExit := err.(*exec.ExitError); err != nil && (!isExit || ee.ExitCode() != 1) {
		t.Fatalf("palisade doctor: %v\n%s", err, out)
	}
	var r doctor.Report
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("doctor output: %v\n%s", err, out)
	}
	if (err == nil) != r.OK {
		t.Errorf("doctor exit status %v does not match ok=%v", err, r.OK)
	}
	return &r, out
}

// closedStaysClosed, with no agent and no queue chain: surrey-cc's
// fail-closed flows get nothing to the server, not even their SYN (the
// blackhole ip rule), though they name a tenant they may reach;
// mole-valley-dc's fail-open ones pass uninspected, as declared.
func (il *inspectLab) closedStaysClosed(t *testing.T, phase string) {
	t.Helper()
	hello := captureHello(t, "files.cloud.psn.example")
	var wg sync.WaitGroup
	for _, c := range []struct{ src, dst string }{{"198.18.1.10", cloud4}, {"2001:db8:1::10", cloud6}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := il.dial("surrey", c.src, c.dst, 1500*time.Millisecond)
			if err != nil {
				t.Logf("%s, no agent: fail-closed flow to %s: %v (its SYN blackholed)", phase, c.dst, err)
				return
			}
			defer conn.Close()
			conn.Write(hello)
			back := nothingBack(conn, time.Second)
			t.Errorf("%s, no agent: fail-closed flow to %s connected (its SYN not dropped); the server read %d bytes of its ClientHello; %v",
				phase, c.dst, served.from(conn.LocalAddr().String()), back)
		}()
	}
	for _, c := range []struct{ src, dst string }{{"198.18.2.10", cloud4}, {"2001:db8:2::10", cloud6}} {
		if err := il.tlsExchange("surrey", c.src, c.dst, "files.cloud.psn.example", 2, 0); err != nil {
			t.Errorf("%s, no agent: fail-open flow to %s: %v, want it to pass", phase, c.dst, err)
		}
	}
	wg.Wait()
}

// grepLine is the first line of out containing s.
func grepLine(out, s string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}
