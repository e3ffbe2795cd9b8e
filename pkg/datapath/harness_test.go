package datapath

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/palisade-psn/palisade/internal/lab"
	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
)

// harness runs the real boundary program with BPF_PROG_RUN inside a
// namespace of its own, whose veth interfaces carry the policy's names.
type harness struct {
	t       testing.TB
	ns      *lab.NS
	dp      *Datapath
	ifindex map[string]int
	policy  *policy.Compiled
}

var testIfaces = []string{"org0", "org1", "svc0"}

func newHarness(t testing.TB) *harness {
	t.Helper()
	l := lab.NewT(t)
	ns, err := l.NS("dp")
	if err != nil {
		t.Fatal(err)
	}
	peer, err := l.NS("peer")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, ns: ns, ifindex: map[string]int{}}
	for i, name := range testIfaces {
		if err := l.Veth(ns, name, peer, "p"+name); err != nil {
			t.Fatal(err)
		}
		idx, err := ns.Ifindex(name)
		if err != nil {
			t.Fatal(err)
		}
		h.ifindex[name] = idx
		_ = i
	}
	pin := testPinPath(t)
	t.Cleanup(func() { os.RemoveAll(pin) }) // also when the load fails half way
	h.dp, err = Open(Options{PinPath: pin, FlowTableSize: 4096})
	if err != nil {
		t.Fatalf("open datapath: %+v", err)
	}
	t.Cleanup(func() { h.dp.Close() })
	if err := h.dp.Configure(Settings{Forward: false, Timeouts: DefaultTimeouts()}); err != nil {
		t.Fatal(err)
	}
	return h
}

func testPinPath(t testing.TB) string {
	b := make([]byte, 4)
	rand.Read(b)
	return filepath.Join("/sys/fs/bpf", "palisade-test-"+hex.EncodeToString(b))
}

// publish loads, compiles and publishes a policy directory.
func (h *harness) publish(dir string) PublishResult {
	h.t.Helper()
	p, err := rules.Load(dir)
	if err != nil {
		h.t.Fatalf("load %s: %v", dir, err)
	}
	h.policy = policy.Compile(p)
	var res PublishResult
	err = h.ns.Do(func() error {
		var err error
		res, err = h.dp.Publish(h.policy, testIfaces)
		return err
	})
	if err != nil {
		h.t.Fatalf("publish: %v", err)
	}
	return res
}

// xdpMD mirrors struct xdp_md, the context BPF_PROG_RUN takes.
type xdpMD struct {
	Data, DataEnd, DataMeta, IngressIfindex, RxQueueIndex, EgressIfindex uint32
}

// XDP actions.
const (
	xdpAborted  = 0
	xdpDrop     = 1
	xdpPass     = 2
	xdpTX       = 3
	xdpRedirect = 4
)

// run runs one frame through the program as if it came in on iface.
func (h *harness) run(t testing.TB, iface string, frame []byte) uint32 {
	t.Helper()
	var ret uint32
	err := h.ns.Do(func() error {
		var err error
		ret, err = h.dp.Program().Run(&ebpf.RunOptions{
			Data:    frame,
			Context: xdpMD{DataEnd: uint32(len(frame)), IngressIfindex: uint32(h.ifindex[iface])},
		})
		return err
	})
	if err != nil {
		t.Fatalf("run program: %v", err)
	}
	return ret
}

func (h *harness) drops() map[string]Counter {
	h.t.Helper()
	d, err := h.dp.Counters().DropCounts()
	if err != nil {
		h.t.Fatal(err)
	}
	return d
}
