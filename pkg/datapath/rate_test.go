package datapath

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/internal/packets"
)

// limitedPolicy is the test policy with alpha's limits: block (YAML).
func limitedPolicy(t *testing.T, limits string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("testdata/policy")); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "organisations", "alpha.yaml")
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f, append(b, "limits: "+limits+"\n"...), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// runN runs n frames made by frame(i) and counts those that passed.
func (h *harness) runN(t *testing.T, iface string, n int, frame func(i int) []byte) int {
	t.Helper()
	passed := 0
	for i := range n {
		if h.run(t, iface, frame(i)) != xdpDrop {
			passed++
		}
	}
	return passed
}

// TestNewFlowRate: at 10 new flows a second an organisation opens a
// second's worth at once, then 10 a second; others are untouched.
func TestNewFlowRate(t *testing.T) {
	h := newHarness(t)
	h.publish(limitedPolicy(t, "{new_flows_per_second: 10}"))
	flow := func(base int) func(int) []byte {
		return func(i int) []byte { return packets.Build(udp(alpha4, web4, uint16(base+i), 5005)) }
	}
	before := h.drops()["rate_limited"].Packets
	if got := h.runN(t, "org0", 15, flow(49000)); got != 10 {
		t.Errorf("%d of 15 new flows passed at once, want the burst of 10", got)
	}
	if got := h.drops()["rate_limited"].Packets - before; got != 5 {
		t.Errorf("rate_limited counted %d, want 5", got)
	}
	if got := h.refusals(t)["alpha"]["rate_limited"].Packets; got != 5 {
		t.Errorf("alpha's own rate_limited count is %d, want 5", got)
	}
	// Its established flows are not new flows.
	h.expect(t, "org0", packets.Build(udp(alpha4, web4, 49000, 5005)), xdpPass, "")
	// Others are untouched.
	if got := h.runN(t, "org1", 15, func(i int) []byte {
		return packets.Build(tcp(gamma4, web4, uint16(49100+i), 443, packets.SYN))
	}); got != 15 {
		t.Errorf("gamma: %d of 15 new flows passed, want all", got)
	}
	time.Sleep(500 * time.Millisecond)
	if got := h.runN(t, "org0", 10, flow(49200)); got < 4 || got > 6 {
		t.Errorf("%d new flows passed half a second later, want 5 (+-1 for the coarse clock)", got)
	}
}

// TestPacketAndByteRates: the packet and byte limits count every allowed
// packet of the organisation, replies too.
func TestPacketAndByteRates(t *testing.T) {
	h := newHarness(t)
	h.publish(limitedPolicy(t, "{packets_per_second: 20}"))
	h.expect(t, "org0", packets.Build(udp(alpha4, web4, 49301, 5005)), xdpPass, "")
	if got := h.runN(t, "svc0", 30, func(int) []byte { return packets.Build(udp(web4, alpha4, 5005, 49301)) }); got != 19 {
		t.Errorf("%d of 30 replies passed, want the 19 left of a 20-packet burst", got)
	}
	frame := packets.Build(udp(alpha4, web4, 49302, 5005))
	limit := 10 * len(frame)
	h.publish(limitedPolicy(t, fmt.Sprintf("{bytes_per_second: %d}", limit)))
	if got := h.runN(t, "org0", 20, func(int) []byte { return frame }); got != 10 {
		t.Errorf("%d of 20 %d-byte packets passed at %d bytes a second, want 10", got, len(frame), limit)
	}
	// Without limits the program does not look buckets up at all.
	h.publish("testdata/policy")
	if got := h.runN(t, "org0", 20, func(int) []byte { return frame }); got != 20 {
		t.Errorf("%d of 20 passed with the limits gone, want all", got)
	}
}

func (h *harness) refusals(t *testing.T) map[string]map[string]Counter {
	t.Helper()
	r, err := h.dp.Counters().OrgRefusals()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRefusalsFromPins: `palisade status` without an agent reads the
// same per-organisation refusals from the pinned maps.
func TestRefusalsFromPins(t *testing.T) {
	h := newHarness(t)
	h.publish(limitedPolicy(t, "{new_flows_per_second: 1}"))
	h.runN(t, "org0", 3, func(i int) []byte { return packets.Build(udp(alpha4, web4, uint16(49400+i), 5005)) })
	p, err := OpenPinned(h.dp.PinPath())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	r, err := p.Counters().OrgRefusals()
	if err != nil {
		t.Fatal(err)
	}
	if got := r["alpha"]["rate_limited"].Packets; got != 2 {
		t.Errorf("pinned rate_limited refusals of alpha = %d, want 2", got)
	}
}
