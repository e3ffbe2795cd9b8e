package datapath

import (
	"os"
	"testing"
)

// openBare opens a datapath with a flow table of flows entries, attached
// nowhere, in a pin directory of its own.
func openBare(t testing.TB, flows uint32) *Datapath {
	t.Helper()
	pin := testPinPath(t)
	t.Cleanup(func() { os.RemoveAll(pin) })
	dp, err := Open(Options{PinPath: pin, FlowTableSize: flows})
	if err != nil {
		t.Fatalf("open datapath: %+v", err)
	}
	t.Cleanup(func() { dp.Close() })
	if err := dp.Configure(Settings{Timeouts: DefaultTimeouts()}); err != nil {
		t.Fatal(err)
	}
	return dp
}

// fillFlows puts n distinct flows in the table, the i-th last seen at
// seen(i).
func fillFlows(t testing.TB, dp *Datapath, n int, seen func(i int) uint64) {
	t.Helper()
	keys := make([]BoundaryPalFlowKey, n)
	vals := make([]BoundaryPalFlow, n)
	for i := range keys {
		keys[i] = BoundaryPalFlowKey{LoAddr: [4]uint32{0x0a000001 + uint32(i)}, HiAddr: [4]uint32{0x0a100001},
			LoPort: uint16(i), HiPort: 443, Proto: 6, Family: 4}
		vals[i] = BoundaryPalFlow{CreatedNs: seen(i), LastSeenNs: seen(i), Verdict: uint8(BoundaryPalVerdictPAL_VERDICT_ALLOW),
			Flags: uint8(BoundaryPalFlowFlagsPAL_FLOW_ORIG_LO)}
	}
	if _, err := dp.objs.Flows.BatchUpdate(keys, vals, nil); err != nil {
		t.Fatal(err)
	}
}

// Walks of a table several batches long see every flow once: the
// sweep removes exactly the idle ones (reporting each), the live count
// and a cut agree with what is left.
func TestWalksOfALargeFlowTable(t *testing.T) {
	dp := openBare(t, 1<<15)
	const n = 3*walkBatch + 123
	now := monotonicNs()
	fillFlows(t, dp, n, func(i int) uint64 {
		if i%3 == 0 {
			return 1 // idle since boot
		}
		return now
	})
	ended := map[uint16]int{}
	dp.OnFlowEnd(func(e EndedFlow) { ended[e.Key.LoPort]++ })
	live, removed, err := dp.SweepFlows()
	idle := (n + 2) / 3
	if err != nil || removed != idle || live != n-idle {
		t.Fatalf("sweep: live %d, removed %d, %v; want %d, %d", live, removed, err, n-idle, idle)
	}
	for i := range n {
		if want := b2i(i%3 == 0); ended[uint16(i)] != want {
			t.Fatalf("flow %d ended %d times, want %d", i, ended[uint16(i)], want)
		}
	}
	if got, err := dp.Counters().FlowTableLive(); err != nil || got != n-idle {
		t.Fatalf("live count %d, %v; want %d", got, err, n-idle)
	}
	kept, cut, err := dp.CutFlows(func(o FlowOrigin) bool { return o.SrcPort%2 == 0 })
	if err != nil || kept+cut != n-idle || cut == 0 || kept == 0 {
		t.Fatalf("cut: kept %d, cut %d, %v; of %d", kept, cut, err, n-idle)
	}
	left := 0
	var k BoundaryPalFlowKey
	var f BoundaryPalFlow
	for it := dp.objs.Flows.Iterate(); it.Next(&k, &f); left++ {
		if k.LoPort%2 != 0 || k.LoPort%3 == 0 {
			t.Fatalf("flow %d is still there", k.LoPort)
		}
	}
	if left != kept {
		t.Fatalf("%d flows left, the cut kept %d", left, kept)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// A full table's walks, as a scrape (live count) and a sweep make them.
func BenchmarkFlowTableWalk(b *testing.B) {
	dp := openBare(b, 1<<17)
	const n = 100_000
	now := monotonicNs()
	fillFlows(b, dp, n, func(int) uint64 { return now })
	b.Run("live", func(b *testing.B) {
		for b.Loop() {
			if live, err := dp.Counters().FlowTableLive(); err != nil || live != n {
				b.Fatalf("live %d, %v; want %d", live, err, n)
			}
		}
	})
	b.Run("sweep", func(b *testing.B) {
		for b.Loop() {
			if live, removed, err := dp.SweepFlows(); err != nil || live != n || removed != 0 {
				b.Fatalf("sweep: live %d, removed %d, %v", live, removed, err)
			}
		}
	})
}
