package e2e

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/internal/agenttest"
	"github.com/palisade-psn/palisade/internal/lab"
)

// The lab TestIsolation runs in: two organisations on links of their own,
// one service they may both reach, and the agent with a small flow table.

// isolationSpec: quiet (198.18.1.10) on org0, flood (198.18.3.10) on org1,
// the exchange service (198.19.10.10) on svc0.
func isolationSpec() lab.GatewaySpec {
	return lab.GatewaySpec{
		Orgs: []lab.LinkSpec{
			{Name: "quiet", GWIf: "org0", GWAddrs: []string{"198.18.1.1/24"}, Addrs: []string{"198.18.1.10/24"}},
			{Name: "flood", GWIf: "org1", GWAddrs: []string{"198.18.3.1/24"}, Addrs: []string{"198.18.3.10/24"}},
		},
		Services: []lab.LinkSpec{
			{Name: "svc", GWIf: "svc0", GWAddrs: []string{"198.19.10.1/24"}, Addrs: []string{"198.19.10.10/24"}},
		},
	}
}

// isolationRules is rules/ cut down to what the lab has: one service and
// two organisations allowed to reach it. Two organisations make each one's
// default quota half the flow table.
var isolationRules = map[string]string{
	"services.yaml": `services:
  exchange:
    description: shared data exchange
    to: [198.19.10.0/24]
    ports: ["443/tcp"]
`,
	"organisations/quiet.yaml": `organisation: quiet
name: Quiet Borough Council
state: active
ingress:
  - interface: org0
prefixes: [198.18.1.0/24]
allow:
  - service: exchange
`,
	"organisations/flood.yaml": `organisation: flood
name: Flooding District Council
state: active
ingress:
  - interface: org1
prefixes: [198.18.3.0/24]
allow:
  - service: exchange
`,
}

// isolationLab is the lab with its agent, its echo service listening and
// a capture on the service's link.
type isolationLab struct {
	*gatewayLab
	svcCap *lab.Capture
}

func startIsolationLab(t *testing.T, flowTable int) *isolationLab {
	t.Helper()
	bins, err := agenttest.Build()
	if err != nil {
		t.Fatal(err)
	}
	rules := writeRules(t, isolationRules)
	gw, err := lab.NewGateway(lab.NewT(t), isolationSpec())
	if err != nil {
		t.Fatal(err)
	}
	svc := gw.Services["svc"]
	// Always answer with a SYN cookie: the service keeps no half-open
	// connection per flood SYN, so it never resends a SYN-ACK and the
	// flood is the only traffic its flows see.
	if err := svc.NS.Sysctl("net.ipv4.tcp_syncookies", "2"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.NS.ServeTCP("198.19.10.10:443"); err != nil {
		t.Fatal(err)
	}
	c, err := svc.NS.Capture(svc.If)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	cfg := agenttest.Config{Rules: rules, Interfaces: gw.GWIfs, Forwarding: true,
		Extra: "flow_table_size: " + strconv.Itoa(flowTable) + "\n"}
	return &isolationLab{gatewayLab: &gatewayLab{gw: gw, agent: agenttest.StartT(t, gw.GW, bins, cfg)}, svcCap: c}
}

// writeRules writes files (path in the rules directory -> text) into a
// new directory of the test's, for the agent to start with or apply.
func writeRules(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		path := filepath.Join(dir, name)
		err := errors.Join(os.MkdirAll(filepath.Dir(path), 0o755), os.WriteFile(path, []byte(text), 0o644))
		if err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// synFlood is count SYNs from src's consecutive ports to dst, built ahead
// so that sending them is all the flood does.
func (s *isolationLab) synFlood(t *testing.T, host string, src netip.AddrPort, dst netip.AddrPort, count int) [][]byte {
	t.Helper()
	w := s.wire(t, host)
	frames := make([][]byte, count)
	for i := range frames {
		frames[i] = w.tcp(t, netip.AddrPortFrom(src.Addr(), src.Port()+uint16(i)), dst, true, false, nil)
	}
	return frames
}

// wire is the Ethernet addressing of frames from host to the gateway.
func (s *isolationLab) wire(t *testing.T, host string) wire {
	t.Helper()
	h := s.gw.Orgs[host]
	mac, err := h.NS.MAC(h.If)
	gwMAC, err2 := s.gw.GW.MAC(h.GWIf)
	if err := errors.Join(err, err2); err != nil {
		t.Fatal(err)
	}
	return wire{src: mac, dst: gwMAC}
}

// send puts frames on host's link at perSecond on average, in bursts
// every 10 ms (a late tick's burst makes up for it), until all are sent or
// ctx ends; sent reports the progress after each burst. It returns how
// many went out.
func (s *isolationLab) send(ctx context.Context, host string, frames [][]byte, perSecond int, sent func(int)) (int, error) {
	h := s.gw.Orgs[host]
	out, err := h.NS.FrameSender(h.If)
	if err != nil {
		return 0, err
	}
	defer out.Close()
	tk := time.NewTicker(10 * time.Millisecond)
	defer tk.Stop()
	start, n := time.Now(), 0
	for n < len(frames) {
		select {
		case <-ctx.Done():
			return n, ctx.Err()
		case <-tk.C:
		}
		due := min(len(frames), int(time.Since(start).Seconds()*float64(perSecond)))
		for ; n < due; n++ {
			if err := out.Send(frames[n]); err != nil {
				return n, err
			}
		}
		sent(n)
	}
	return n, nil
}
