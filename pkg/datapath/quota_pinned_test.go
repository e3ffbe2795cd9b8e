package datapath

import (
	"reflect"
	"testing"

	"github.com/palisade-psn/palisade/internal/packets"
)

// TestPinnedFlowUse: `palisade status` without an agent reads from the pins
// what the agent's FlowUse reads from its loaded datapath.
func TestPinnedFlowUse(t *testing.T) {
	h := newHarness(t)
	h.publish(quotaPolicy(t, 2))
	h.expect(t, "org0", packets.Build(tcp(alpha4, web4, 48301, 443, packets.SYN)), xdpPass, "")
	p, err := OpenPinned(h.dp.PinPath())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	got, err := p.FlowUse()
	if err != nil {
		t.Fatal(err)
	}
	want := h.flowUse(t)
	if !reflect.DeepEqual(got, want) || got["alpha"] != (FlowUse{InUse: 1, Quota: 2}) {
		t.Errorf("pinned flow use %+v, the datapath's %+v; want alpha {1 2}", got, want)
	}
	if n, err := p.FlowTableSize(); err != nil || n != 4096 {
		t.Errorf("pinned flow table size %d (%v), want 4096", n, err)
	}
}
