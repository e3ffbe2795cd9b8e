package datapath

import (
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/palisade-psn/palisade/internal/packets"
)

// repin replaces the pinned map name with one made from spec, filled by
// fill, as an earlier build of another layout would have left it.
func repin(t *testing.T, pin, name string, spec *ebpf.MapSpec, fill func(*ebpf.Map)) {
	t.Helper()
	path := filepath.Join(pin, name)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	m, err := ebpf.NewMap(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	fill(m)
	if err := m.Pin(path); err != nil {
		t.Fatal(err)
	}
}

// TestStateCarriesOverALayoutChange: the build before this one had flows
// without a reply ingress, 19 drop reasons and fragment keys without an
// ingress. Its pinned state must not stop this build from loading: an
// established flow keeps answering, and the counts stay.
func TestStateCarriesOverALayoutChange(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/policy")
	flow := udp(alpha4, web4, 47101, 5005)
	h.expect(t, "org0", packets.Build(flow), xdpPass, "")
	k, _ := FlowKeyOf(alpha4, web4, 47101, 5005, 17)
	var f BoundaryPalFlow
	if err := h.dp.Maps().Flows.Lookup(&k, &f); err != nil {
		t.Fatal(err)
	}
	pin := h.dp.PinPath()
	h.dp.Close()

	const oldFlow, oldReasons, oldFragKey = 72, 19, 40
	repin(t, pin, "flows", &ebpf.MapSpec{Type: ebpf.LRUHash, KeySize: uint32(unsafe.Sizeof(k)), ValueSize: oldFlow, MaxEntries: 4096},
		func(m *ebpf.Map) {
			v := unsafe.Slice((*byte)(unsafe.Pointer(&f)), unsafe.Sizeof(f))[:oldFlow]
			if err := m.Put(&k, v); err != nil {
				t.Fatal(err)
			}
		})
	repin(t, pin, "drop_stats", &ebpf.MapSpec{Type: ebpf.PerCPUArray, KeySize: 4, ValueSize: 16, MaxEntries: oldReasons},
		func(m *ebpf.Map) {
			per := make([]BoundaryPalCounter, ebpf.MustPossibleCPU())
			per[0] = BoundaryPalCounter{Packets: 7, Bytes: 700}
			if err := m.Put(uint32(BoundaryPalDropReasonPAL_DROP_NO_RULE), per); err != nil {
				t.Fatal(err)
			}
		})
	repin(t, pin, "frags", &ebpf.MapSpec{Type: ebpf.LRUHash, KeySize: oldFragKey, ValueSize: 24, MaxEntries: 16384}, func(*ebpf.Map) {})

	var err error
	if h.dp, err = Open(Options{PinPath: pin, FlowTableSize: 4096}); err != nil {
		t.Fatalf("open over an earlier build's state: %v", err)
	}
	h.publish("testdata/policy")
	for name, want := range map[string]uint32{"flows": oldFlow, "frags": 24} {
		m, err := ebpf.LoadPinnedMap(filepath.Join(pin, name), nil)
		if err != nil {
			t.Fatal(err)
		}
		if m.ValueSize() != want {
			t.Errorf("before CarryOver, pinned %s values are %d bytes, want the earlier build's %d", name, m.ValueSize(), want)
		}
		m.Close()
	}
	h.expect(t, "svc0", packets.Build(udp(web4, alpha4, 5005, 47101)), xdpPass, "")
	// Until this build runs on the links, the old program still adds
	// flows and counts: those are carried over at the switch.
	late, _ := FlowKeyOf(alpha4, web4, 47102, 5005, 17)
	h.carryPut(t, "flows", &late, unsafe.Slice((*byte)(unsafe.Pointer(&f)), unsafe.Sizeof(f))[:oldFlow])
	if err := h.dp.CarryOver(); err != nil {
		t.Fatal(err)
	}
	if got := h.drops()["no_rule"].Packets; got != 7 {
		t.Errorf("no_rule count after the upgrade = %d, want the 7 counted before", got)
	}
	h.expect(t, "svc0", packets.Build(udp(web4, alpha4, 5005, 47102)), xdpPass, "")
	for name, want := range map[string]uint32{"flows": uint32(unsafe.Sizeof(f)), "frags": 24} {
		m, err := ebpf.LoadPinnedMap(filepath.Join(pin, name), nil)
		if err != nil {
			t.Fatal(err)
		}
		if m.ValueSize() != want {
			t.Errorf("pinned %s values are %d bytes, want this build's %d", name, m.ValueSize(), want)
		}
		m.Close()
	}
}

// carryPut writes into the earlier build's pinned map, as its program
// would while this build has loaded but not attached yet.
func (h *harness) carryPut(t *testing.T, name string, k, v any) {
	t.Helper()
	m, err := ebpf.LoadPinnedMap(filepath.Join(h.dp.PinPath(), name), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Put(k, v); err != nil {
		t.Fatal(err)
	}
}
