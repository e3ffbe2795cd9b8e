package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/pkg/flows"
)

// TestFlowLog checks the records of an allowed flow (start, then end once
// the sweep removes it) and of a refused packet, through palisade flows,
// and that --follow streams new records.
func TestFlowLog(t *testing.T) {
	o := startObsLab(t, 100)
	pings(t, o.gw, "surrey", "198.18.1.10", "198.19.10.10", 1)
	refusedSYN(t, o.gw, "surrey", "198.18.1.10", "198.19.10.10:22")
	start := o.waitFlow(t, 10*time.Second, []string{"--org", "surrey-cc"}, func(r *flows.Record) bool {
		return r.EventType == "flow" && r.Event == "start" && r.DestIP == "198.19.10.10" && r.Proto == "ICMP"
	})
	if start.Org != "surrey-cc" || start.RuleID != "surrey-cc/ping-services" || start.Verdict != "allow" ||
		start.SrcIP != "198.18.1.10" || start.PolicyDigest == "" || start.StateDigest == "" {
		t.Errorf("flow start record: %+v", start)
	}
	drop := o.waitFlow(t, 10*time.Second, []string{"--verdict", "deny"}, func(r *flows.Record) bool {
		return r.EventType == "drop" && r.DestPort == 22
	})
	if drop.Org != "surrey-cc" || drop.DropReason != "no_rule" || drop.Proto != "TCP" || drop.SrcIP != "198.18.1.10" {
		t.Errorf("drop record: %+v", drop)
	}
	// ICMP flows idle out after 1s here; the sweep runs every 10s.
	end := o.waitFlow(t, 40*time.Second, []string{"--org", "surrey-cc"}, func(r *flows.Record) bool {
		return r.EventType == "flow" && r.Event == "end" && r.FlowID == start.FlowID
	})
	if end.Packets != 1 || end.PacketsRev != 1 || end.RuleID != start.RuleID {
		t.Errorf("flow end record: %+v (start %+v)", end, start)
	}
	o.checkFollow(t)
	// Leaving switches the flow log off while the maps are still open.
	if err := o.agent.Stop(); err != nil {
		t.Fatal(err)
	}
	if logs := o.agent.Logs(); strings.Contains(logs, "level=ERROR") {
		t.Errorf("errors while leaving:\n%s", logs)
	}
}

// waitFlow polls palisade flows until a record passes match.
func (o *obsLab) waitFlow(t *testing.T, within time.Duration, args []string, match func(*flows.Record) bool) flows.Record {
	t.Helper()
	deadline := time.Now().Add(within)
	var recs []flows.Record
	for time.Now().Before(deadline) {
		recs = nil
		o.cliJSON(t, &recs, append([]string{"flows", "--limit", "10000"}, args...)...)
		for i := range recs {
			if match(&recs[i]) {
				return recs[i]
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("no matching flow record within %v; palisade flows %v gave %+v", within, args, recs)
	return flows.Record{}
}

// checkFollow runs palisade flows --follow, pings, and reads the new record.
func (o *obsLab) checkFollow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "nsenter", "--net=/run/netns/"+o.gw.GW.Name, o.agent.Bin.Palisade,
		"--socket", o.agent.Socket, "flows", "--follow", "--org", "surrey-police", "-o", "json")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); cmd.Wait() }()
	time.Sleep(500 * time.Millisecond) // let it subscribe; a miss only retries below
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	for try := 0; try < 5; try++ {
		pings(t, o.gw, "police", "198.18.3.10", "198.19.10.10", 1)
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("palisade flows --follow ended")
			}
			var r flows.Record
			if err := json.Unmarshal([]byte(l), &r); err != nil || r.Org != "surrey-police" {
				t.Fatalf("followed record %q: %v", l, err)
			}
			return
		case <-time.After(2 * time.Second):
		}
	}
	t.Fatal("palisade flows --follow streamed nothing")
}

// TestFlowLogRateLimit floods refused datagrams: every one is counted, the
// flow log holds at most the per-CPU rate limit's worth.
func TestFlowLogRateLimit(t *testing.T) {
	const rate, burst = 20, 2000
	o := startObsLab(t, rate)
	before := o.dropCount(t)
	start := time.Now()
	o.flood(t, burst)
	elapsed := time.Since(start)
	// Wait for the counter to settle (bounded), then count the log.
	var counted int
	for i := 0; i < 50; i++ {
		if counted = o.dropCount(t) - before; counted >= burst {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // the agent drains the ring buffer
	var recs []flows.Record
	o.cliJSON(t, &recs, "flows", "--verdict", "deny", "--limit", "100000")
	logged := 0
	for _, r := range recs {
		if r.DestPort == 9999 {
			logged++
		}
	}
	// Each CPU may log `rate` in every one-second window the burst touched.
	bound := rate * runtime.NumCPU() * (int(elapsed/time.Second) + 2)
	t.Logf("sent %d in %v: %d counted, %d logged (bound %d)", burst, elapsed, counted, logged, bound)
	if logged == 0 || logged > bound {
		t.Errorf("flow log holds %d refusals of the flood, want 1..%d", logged, bound)
	}
	// veth may drop a datagram before XDP sees it on a busy machine; what XDP saw is counted.
	if counted < burst*9/10 || counted < logged {
		t.Errorf("drop counter rose by %d for %d datagrams sent (%d logged)", counted, burst, logged)
	}
}

// dropCount is surrey-cc's dropped packets, from palisade status.
func (o *obsLab) dropCount(t *testing.T) int {
	return int(counter(o.status(t), "organisations", "surrey-cc", "drop"))
}

// flood sends n refused UDP datagrams from surrey, paced a little so the
// veth ring does not overflow.
func (o *obsLab) flood(t *testing.T, n int) {
	t.Helper()
	err := o.gw.Orgs["surrey"].NS.Do(func() error {
		c, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.ParseIP("198.18.1.10")}, &net.UDPAddr{IP: net.ParseIP("198.19.10.10"), Port: 9999})
		if err != nil {
			return err
		}
		defer c.Close()
		for i := 0; i < n; i++ {
			if _, err := c.Write([]byte("flood")); err != nil {
				return fmt.Errorf("datagram %d: %w", i, err)
			}
			if i%20 == 19 {
				time.Sleep(time.Millisecond)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
