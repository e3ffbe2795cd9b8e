package datapath

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
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
	lab     *lab.Lab
	peer    *lab.NS // the far ends of the harness's veths
	dp      *Datapath
	ifindex map[string]int
	policy  *policy.Compiled
}

var testIfaces = []string{"org0", "org1", "svc0"}

// gatewayAddrs are the harness gateway's own addresses, on transit
// networks no test sends from. The service side's connected routes cover
// every destination the tests use; publish routes each organisation's
// registered prefixes to its interface (VLANs on the parent, as the lab
// emulates them), as a real gateway's routing table does. The
// reverse-path check and link control ask these routes.
var gatewayAddrs = map[string][]string{
	"org0": {"198.18.254.1/30", "2001:db8:fe00::1/64"},
	"org1": {"198.18.254.5/30", "2001:db8:fe01::1/64"},
	"svc0": {"198.19.0.1/16", "2001:db8:10::1/44", "2001:db8:20::1/48"},
}

// routeSources points a route at each registered source prefix's
// interface, replacing what an earlier publish routed.
func (h *harness) routeSources(c *policy.Compiled) {
	h.t.Helper()
	var b strings.Builder
	for _, in := range c.Ingresses {
		for _, s := range in.Sources {
			fmt.Fprintf(&b, "route replace %s dev %s\n", s.Prefix, in.Interface)
		}
	}
	if b.Len() == 0 {
		return
	}
	f := filepath.Join(h.t.TempDir(), "routes")
	if err := os.WriteFile(f, []byte(b.String()), 0o600); err != nil {
		h.t.Fatal(err)
	}
	if out, err := h.ns.Exec(context.Background(), "ip", "-batch", f); err != nil {
		h.t.Fatalf("route sources: %v: %s", err, out)
	}
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	l, ns, peer, ifindex := labGateway(t, testIfaces)
	h := &harness{t: t, ns: ns, lab: l, peer: peer, ifindex: ifindex}
	for _, kv := range [][2]string{{"net.ipv4.ip_forward", "1"}, {"net.ipv6.conf.all.forwarding", "1"}} {
		if err := ns.Sysctl(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range testIfaces {
		for _, cidr := range gatewayAddrs[name] {
			if err := ns.Addr(name, cidr); err != nil {
				t.Fatal(err)
			}
		}
	}
	pin := testPinPath(t)
	t.Cleanup(func() { os.RemoveAll(pin) }) // also when the load fails half way
	var err error
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

// labGateway makes a namespace whose veths carry the names ifaces (a
// gateway's interfaces), their far ends in a peer namespace, and returns
// their ifindexes.
func labGateway(t testing.TB, ifaces []string) (l *lab.Lab, ns, peer *lab.NS, ifindex map[string]int) {
	t.Helper()
	l = lab.NewT(t)
	var err error
	if ns, err = l.NS("dp"); err != nil {
		t.Fatal(err)
	}
	if peer, err = l.NS("peer"); err != nil {
		t.Fatal(err)
	}
	ifindex = map[string]int{}
	for _, name := range ifaces {
		if err := l.Veth(ns, name, peer, "p"+name); err != nil {
			t.Fatal(err)
		}
		if ifindex[name], err = ns.Ifindex(name); err != nil {
			t.Fatal(err)
		}
	}
	return l, ns, peer, ifindex
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
	h.routeSources(h.policy)
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
