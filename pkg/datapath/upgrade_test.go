package datapath

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/cilium/ebpf"
)

// TestStalePolicyTablesAreReplaced pins a policy table of another layout
// (as an earlier build would have left it) under a running attachment:
// the next datapath must open anyway, leave the attached program alone
// until it has published into fresh tables, decide as Decide does, pin its
// own tables, and take the link over when it attaches.
func TestStalePolicyTablesAreReplaced(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/policy")
	if err := h.ns.Do(func() error { _, err := h.dp.Attach("svc0", Native); return err }); err != nil {
		t.Fatal(err)
	}
	before := linkProgram(t, h)
	pin := h.dp.PinPath()
	h.dp.Close()

	path := filepath.Join(pin, "rulesets")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	old, err := ebpf.NewMap(&ebpf.MapSpec{Type: ebpf.Array, KeySize: 4, ValueSize: 8, MaxEntries: 16})
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Pin(path); err != nil {
		t.Fatal(err)
	}
	old.Close()

	if h.dp, err = Open(Options{PinPath: pin, FlowTableSize: 4096}); err != nil {
		t.Fatalf("open over an earlier build's policy tables: %v", err)
	}
	if !h.dp.FreshPolicy() {
		t.Fatal("stale rulesets table taken over instead of replaced")
	}
	h.publish("testdata/policy")
	if got := linkProgram(t, h); got != before {
		t.Errorf("link moved to program %d before attach (was %d)", got, before)
	}
	compareRandom(t, h, rand.New(rand.NewPCG(9, 9)), 50000, 500)
	pinned, err := ebpf.LoadPinnedMap(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := uint32(unsafe.Sizeof(BoundaryPalRuleset{})); pinned.ValueSize() != want {
		t.Errorf("pinned rulesets value is %d bytes, want this build's %d", pinned.ValueSize(), want)
	}
	pinned.Close()
	if err := h.ns.Do(func() error { _, err := h.dp.Attach("svc0", Native); return err }); err != nil {
		t.Fatal(err)
	}
	if linkProgram(t, h) == before || h.dp.FreshPolicy() {
		t.Error("attach did not take the link over with the fresh tables")
	}
}
