package datapath

import (
	"os"
	"testing"
	"time"
)

// The rule counters' origin stays across a reopen (an agent restart) and
// changes when the pins are removed (`palisade clean`), with the time the
// new map was made.
func TestCounterOrigin(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to load BPF")
	}
	pin := testPinPath(t)
	t.Cleanup(func() { Clean(pin) })
	origin := func() CounterOrigin {
		t.Helper()
		dp, err := Open(Options{PinPath: pin, FlowTableSize: 4096})
		if err != nil {
			t.Fatalf("open datapath: %+v", err)
		}
		defer dp.Close()
		o, err := dp.CounterOrigin()
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	start := time.Now()
	first := origin()
	if first.BootID == "" || first.Created.Before(start.Add(-time.Second)) || first.Created.After(time.Now()) {
		t.Errorf("origin %+v: not made during this test", first)
	}
	time.Sleep(20 * time.Millisecond)
	if again := origin(); !again.Same(first) || !again.Created.Equal(first.Created) {
		t.Errorf("reopened: %+v, was %+v", again, first)
	}
	if err := Clean(pin); err != nil {
		t.Fatal(err)
	}
	if fresh := origin(); fresh.Same(first) || !fresh.Created.After(first.Created) {
		t.Errorf("after clean: %+v, was %+v", fresh, first)
	}
}
