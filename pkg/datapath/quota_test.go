package datapath

import (
	"fmt"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/internal/packets"
)

// zeroFlowCounts zeroes every organisation's flow counts, for a test that
// empties the flow table behind the datapath's back.
func zeroFlowCounts(dp *Datapath) error {
	n := dp.Maps().OrgCounts.MaxEntries()
	keys := make([]uint32, n)
	for i := range keys {
		keys[i] = uint32(i)
	}
	if _, err := dp.Maps().OrgCounts.BatchUpdate(keys, make([]BoundaryPalOrgCounts, n), nil); err != nil {
		return fmt.Errorf("zero flow counts: %w", err)
	}
	dp.agentMu.Lock() // keep the fragment quotas publish set
	defer dp.agentMu.Unlock()
	for _, k := range keys {
		var a BoundaryPalOrgAgent
		if err := dp.Maps().OrgAgent.Lookup(k, &a); err != nil {
			return err
		}
		if a.FlowsSwept|a.FragsSwept != 0 {
			if err := dp.Maps().OrgAgent.Put(k, BoundaryPalOrgAgent{FragQuota: a.FragQuota}); err != nil {
				return err
			}
		}
	}
	return nil
}

// quotaPolicy is the test policy with alpha limited to limit flows.
func quotaPolicy(t *testing.T, limit int) string {
	t.Helper()
	return limitedPolicy(t, fmt.Sprintf("{flows: %d}", limit))
}

// TestFlowQuota: an organisation at its quota has its own new flows
// refused, not anyone else's evicted; flows that end give their room back.
func TestFlowQuota(t *testing.T) {
	h := newHarness(t)
	h.publish(quotaPolicy(t, 3))
	open := func(sport uint16) []byte { return packets.Build(udp(alpha4, web4, sport, 5005)) }
	for sport := uint16(48001); sport < 48004; sport++ {
		h.expect(t, "org0", open(sport), xdpPass, "")
	}
	h.expect(t, "org0", open(48004), xdpDrop, "flow_quota")
	h.expect(t, "org0", open(48001), xdpPass, "") // its own flows go on
	h.expect(t, "org1", packets.Build(tcp(gamma4, web4, 48005, 443, packets.SYN)), xdpPass, "")
	use := h.flowUse(t)
	if use["alpha"] != (FlowUse{InUse: 3, Quota: 3}) {
		t.Errorf("alpha holds %+v, want 3 of 3", use["alpha"])
	}
	// Gamma has no limit of its own: a fair share of the 4,096-entry table.
	if use["gamma"] != (FlowUse{InUse: 1, Quota: 4096 / 3}) {
		t.Errorf("gamma holds %+v, want 1 of %d", use["gamma"], 4096/3)
	}
	// An apply that cuts one of alpha's flows frees its room.
	k, _ := FlowKeyOf(alpha4, web4, 48002, 5005, 17)
	if _, _, err := h.dp.CutFlows(func(o FlowOrigin) bool { return o.SrcPort != 48002 }); err != nil {
		t.Fatal(err)
	}
	if _, err := h.dp.LookupFlow(k); err == nil {
		t.Fatal("cut flow still there")
	}
	h.expect(t, "org0", open(48004), xdpPass, "")
	h.expect(t, "org0", open(48006), xdpDrop, "flow_quota")
	// A higher quota in the next apply is taken at once.
	h.publish(quotaPolicy(t, 4))
	h.expect(t, "org0", open(48006), xdpPass, "")
	h.expect(t, "org0", open(48007), xdpDrop, "flow_quota")
	if got := h.flowUse(t)["alpha"]; got != (FlowUse{InUse: 4, Quota: 4}) {
		t.Errorf("alpha holds %+v after the apply, want 4 of 4", got)
	}
}

// TestFlowQuotaFreedByExpiry: a flow the program finds expired, and one
// the sweep removes, both give their room back.
func TestFlowQuotaFreedByExpiry(t *testing.T) {
	h := newHarness(t)
	h.publish(quotaPolicy(t, 1))
	to := DefaultTimeouts()
	to.UDP = time.Second
	if err := h.dp.Configure(Settings{Timeouts: to}); err != nil {
		t.Fatal(err)
	}
	h.expect(t, "org0", packets.Build(udp(alpha4, web4, 48101, 5005)), xdpPass, "")
	h.expect(t, "org0", packets.Build(udp(alpha4, web4, 48102, 5005)), xdpDrop, "flow_quota")
	time.Sleep(2100 * time.Millisecond) // past a 1 s timeout on a coarse clock
	// The same 5-tuple again: the program deletes the expired flow and
	// opens it anew, within the quota.
	h.expect(t, "org0", packets.Build(udp(alpha4, web4, 48101, 5005)), xdpPass, "")
	time.Sleep(2100 * time.Millisecond) // past a 1 s timeout on a coarse clock
	if _, removed, err := h.dp.SweepFlows(); err != nil || removed != 1 {
		t.Fatalf("sweep removed %d (%v), want 1", removed, err)
	}
	h.expect(t, "org0", packets.Build(udp(alpha4, web4, 48102, 5005)), xdpPass, "")
	if got := h.flowUse(t)["alpha"]; got.InUse != 1 {
		t.Errorf("alpha holds %+v, want 1", got)
	}
}

func (h *harness) flowUse(t *testing.T) map[string]FlowUse {
	t.Helper()
	u, err := h.dp.FlowUse()
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestFlowQuotaEarlyDrop: at its quota, an organisation's unanswered flows
// make way for its own new ones at the next sweep; answered ones stay.
func TestFlowQuotaEarlyDrop(t *testing.T) {
	h := newHarness(t)
	h.publish(quotaPolicy(t, 2))
	h.expect(t, "org0", packets.Build(tcp(alpha4, web4, 48201, 443, packets.SYN)), xdpPass, "")
	h.expect(t, "svc0", packets.Build(tcp(web4, alpha4, 443, 48201, packets.SYN|packets.ACK)), xdpPass, "")
	h.expect(t, "org0", packets.Build(tcp(alpha4, web4, 48202, 443, packets.SYN)), xdpPass, "") // never answered
	h.expect(t, "org0", packets.Build(tcp(alpha4, web4, 48203, 443, packets.SYN)), xdpDrop, "flow_quota")
	if _, removed, err := h.dp.SweepFlows(); err != nil || removed != 0 {
		t.Fatalf("sweep removed %d (%v) of flows younger than %v, want 0", removed, err, earlyDropAfter)
	}
	time.Sleep(earlyDropAfter + 1100*time.Millisecond)
	if _, removed, err := h.dp.SweepFlows(); err != nil || removed != 1 {
		t.Fatalf("sweep removed %d (%v), want the one unanswered flow", removed, err)
	}
	h.expect(t, "org0", packets.Build(tcp(alpha4, web4, 48203, 443, packets.SYN)), xdpPass, "")
	h.expect(t, "svc0", packets.Build(tcp(web4, alpha4, 443, 48201, packets.ACK)), xdpPass, "") // the answered one lives
}

// TestFragmentQuota: an organisation's first fragments fill at most its
// share of the fragment table; expired ones give their room back.
func TestFragmentQuota(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/policy")
	share := int(h.dp.Maps().Frags.MaxEntries()) / 3
	first := func(id uint32) []byte {
		return packets.Build(withFrag(udp(alpha4, web4, 48301, 5005), id, 0, true))
	}
	for id := uint32(1); id <= uint32(share); id++ {
		if got := h.run(t, "org0", first(id)); got != xdpPass {
			t.Fatalf("first fragment %d of %d: action %d, want pass", id, share, got)
		}
	}
	h.expect(t, "org0", first(1), xdpPass, "") // sent again: no new entry
	h.expect(t, "org0", first(uint32(share)+1), xdpDrop, "fragment_quota")
	// Another organisation's room is its own.
	h.expect(t, "org1", packets.Build(withFrag(tcp(gamma4, web4, 48302, 443, packets.SYN), 7, 0, true)), xdpPass, "")
	h.expect(t, "org1", packets.Build(withFrag(tcp(gamma4, web4, 48302, 443, packets.SYN), 7, 185, false)), xdpPass, "")
	to := DefaultTimeouts()
	to.Fragment = time.Second
	if err := h.dp.Configure(Settings{Timeouts: to}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond)
	if removed, err := h.dp.SweepFragments(); err != nil || removed != share+1 {
		t.Fatalf("sweep removed %d (%v), want %d", removed, err, share+1)
	}
	h.expect(t, "org0", first(uint32(share)+1), xdpPass, "")
	// An organisation's own limit takes the place of the fair share.
	h.publish(limitedPolicy(t, "{fragments: 2}"))
	if removed, err := h.dp.SweepFragments(); err != nil {
		t.Fatal(err)
	} else if removed != 0 {
		t.Logf("swept %d", removed)
	}
	h.expect(t, "org0", first(uint32(share)+2), xdpPass, "") // holds 2 of 2 now
	h.expect(t, "org0", first(uint32(share)+3), xdpDrop, "fragment_quota")
}
