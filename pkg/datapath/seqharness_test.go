package datapath

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/palisade-psn/palisade/internal/lab"
	"github.com/palisade-psn/palisade/pkg/policy"
	"github.com/palisade-psn/palisade/pkg/rules"
)

// seqHarness is the harness of harness_test.go grown into the sequence
// fuzzer's world (seqworld_test.go): more links, addresses, routes of
// every kind, neighbours, forwarding on (off on org2), XDP forwarding on,
// redirect ports, and VLAN devices the reverse-path check knows.
type seqHarness struct {
	t      testing.TB
	ns     *lab.NS
	dp     *Datapath
	world  *seqWorld
	policy *policy.Compiled
	drops  *dropReader
	base   []bool // each organisation's suspension as published
	cur    []bool // and as the program has it now
	fwd    *bool  // XDP forwarding as configured, nil: not yet
}

func newSeqHarness(t testing.TB) *seqHarness {
	t.Helper()
	_, ns, _, idx := labGateway(t, append(append([]string{}, seqIfaces...), "vl100", "vlq"))
	h := &seqHarness{t: t, ns: ns}
	ifindex := map[string]uint32{}
	for name, i := range idx {
		ifindex[name] = uint32(i)
	}
	if err := h.setupRoutes(); err != nil {
		t.Fatal(err)
	}
	pin := testPinPath(t)
	t.Cleanup(func() { os.RemoveAll(pin) })
	var err error
	h.dp, err = Open(Options{PinPath: pin, FlowTableSize: 1 << 14})
	if err != nil {
		t.Fatalf("open datapath: %+v", err)
	}
	t.Cleanup(func() { h.dp.Close() })
	if err := h.dp.Configure(Settings{Forward: true, Timeouts: DefaultTimeouts()}); err != nil {
		t.Fatal(err)
	}
	err = ns.Do(func() error {
		for _, n := range seqIfaces {
			if err := h.dp.Maps().TxPorts.Put(ifindex[n], ifindex[n]); err != nil {
				return fmt.Errorf("redirect port %s: %w", n, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if h.drops, err = newDropReader(h.dp.Maps().DropStats); err != nil {
		t.Fatal(err)
	}
	_, vlanMapErr := os.Stat(filepath.Join(pin, "vlan_devs"))
	h.world = newSeqWorld(ifindex, vlanMapErr == nil)
	h.checkRoutes(t)
	return h
}

// setupRoutes gives the namespace seqworld's addresses, routes and
// neighbours in one `ip -batch`, then turns forwarding on (off on org2).
func (h *seqHarness) setupRoutes() error {
	var cmds []string
	for _, a := range seqAddrs {
		c := "addr add " + a.cidr + " dev " + a.dev
		if strings.Contains(a.cidr, ":") {
			c += " nodad"
		}
		cmds = append(cmds, c)
	}
	for _, r := range seqRoutes {
		c := "route add " + r.kind + " " + r.prefix.String()
		if r.kind == rtUnicast {
			c = "route add " + r.prefix.String() + " dev " + r.dev
			if r.via.IsValid() {
				c += " via " + r.via.String()
			}
		}
		cmds = append(cmds, c)
	}
	for dev, addrs := range seqNeighbours {
		for _, a := range addrs {
			cmds = append(cmds, "neigh add "+a+" lladdr 02:00:00:00:00:aa dev "+dev+" nud permanent")
		}
	}
	batch := filepath.Join(h.t.TempDir(), "routes")
	if err := os.WriteFile(batch, []byte(strings.Join(cmds, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	if out, err := exec.Command("ip", "-n", h.ns.Name, "-batch", batch).CombinedOutput(); err != nil {
		return fmt.Errorf("ip -batch: %v: %s", err, out)
	}
	sysctls := [][2]string{
		{"net/ipv4/ip_forward", "1"}, {"net/ipv6/conf/all/forwarding", "1"},
	}
	for n := range seqNoFwd {
		sysctls = append(sysctls, [2]string{"net/ipv4/conf/" + n + "/forwarding", "0"},
			[2]string{"net/ipv6/conf/" + n + "/forwarding", "0"})
	}
	for _, s := range sysctls {
		if err := h.ns.Sysctl(s[0], s[1]); err != nil {
			return err
		}
	}
	return nil
}

// checkRoutes asks the kernel, for every address the generator uses, which
// route it takes: the model's table must say the same, or a difference
// later would be the model's and not the program's. One `ip -batch`: a
// failed lookup's error names its line on stderr, the others answer on
// stdout in order.
func (h *seqHarness) checkRoutes(t testing.TB) {
	t.Helper()
	var addrs []netip.Addr
	var cmds []string
	for _, a := range seqPoolAddrs() {
		if inLab(a) {
			addrs = append(addrs, a)
			cmds = append(cmds, "route get fibmatch "+a.String())
		}
	}
	batch := filepath.Join(t.TempDir(), "route-get")
	if err := os.WriteFile(batch, []byte(strings.Join(cmds, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr strings.Builder
	cmd := exec.Command("ip", "-n", h.ns.Name, "-force", "-batch", batch)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	_ = cmd.Run() // fails when any lookup does
	failed, last := map[int]string{}, ""
	for _, l := range strings.Split(stderr.String(), "\n") {
		if _, at, ok := strings.Cut(l, "Command failed "+batch+":"); ok {
			n, _ := strconv.Atoi(at)
			failed[n-1] = last
		}
		last = l
	}
	answers := strings.Split(stdout.String(), "\n")
	for i, a := range addrs {
		var got string
		if e, ok := failed[i]; ok {
			got = fibmatchGot(e, errors.New(e))
		} else if len(answers) > 0 {
			got, answers = fibmatchGot(answers[0], nil), answers[1:]
		}
		if want := h.world.fibmatchWant(a); got != want {
			t.Fatalf("route to %s: kernel says %q, the model's table %q", a, got, want)
		}
	}
}

// routeReport says what the kernel and the model answer now about the
// routes to a frame's addresses and the ingress's forwarding switches:
// printed with a difference, so that one caused by the model's idea of
// the routing table shows as such.
func (h *seqHarness) routeReport(iface string, frame []byte) string {
	p, _ := refParse(frame)
	var b strings.Builder
	for _, a := range []netip.Addr{p.src, p.dst} {
		if !a.IsValid() {
			continue
		}
		out, err := exec.Command("ip", "-n", h.ns.Name, "route", "get", "fibmatch", a.String()).CombinedOutput()
		fmt.Fprintf(&b, "      route to %s: kernel %q, model %q\n", a, fibmatchGot(strings.TrimSpace(string(out)), err), h.world.fibmatchWant(a))
	}
	for _, fam := range []string{"ipv4", "ipv6"} {
		var v []byte
		if err := h.ns.Do(func() (err error) {
			v, err = os.ReadFile(filepath.Join("/proc/sys/net", fam, "conf", iface, "forwarding"))
			return err
		}); err != nil {
			continue
		}
		fmt.Fprintf(&b, "      %s forwarding on %s: %s", fam, iface, v)
	}
	return b.String()
}

func inLab(a netip.Addr) bool {
	return netip.MustParsePrefix("198.18.0.0/15").Contains(a) || netip.MustParsePrefix("2001:db8::/32").Contains(a)
}

// publish loads testdata/seqfuzz (theta's ingress is QinQ: 300, then 7),
// publishes it, and tells the program about the VLAN devices (publishing
// lists the host's own, and this kernel may have none).
func (h *seqHarness) publish() {
	h.t.Helper()
	p, err := rules.Load("testdata/seqfuzz")
	if err != nil {
		h.t.Fatalf("load testdata/seqfuzz: %v", err)
	}
	c := policy.Compile(p)
	h.policy = c
	err = h.ns.Do(func() error {
		_, err := h.dp.Publish(c, seqIfaces)
		return err
	})
	if err != nil {
		h.t.Fatalf("publish: %v", err)
	}
	h.base = make([]bool, len(c.Orgs))
	for i, o := range c.Orgs {
		h.base[i] = o.Suspended
	}
	if len(h.world.vlanDevs) > 0 {
		if err := h.writeVLANDevs(); err != nil {
			h.t.Fatal(err)
		}
	}
}

func (h *seqHarness) writeVLANDevs() error {
	m, err := ebpf.LoadPinnedMap(filepath.Join(h.dp.PinPath(), "vlan_devs"), nil)
	if err != nil {
		return fmt.Errorf("open vlan_devs: %w", err)
	}
	defer m.Close()
	for idx, d := range h.world.vlanDevs {
		v := make([]byte, 8)
		binary.LittleEndian.PutUint32(v, h.world.ifindex[d.parent])
		binary.LittleEndian.PutUint16(v[4:], d.vlan)
		binary.LittleEndian.PutUint16(v[6:], d.inner)
		if err := m.Put(idx, v); err != nil {
			return fmt.Errorf("vlan device %d: %w", idx, err)
		}
	}
	return nil
}

// runFrame runs one frame through the program as if it came in on
// ifindex. It must be called inside h.ns.Do.
func (h *seqHarness) runFrame(ifindex uint32, frame []byte) (uint32, error) {
	return h.dp.Program().Run(&ebpf.RunOptions{
		Data:    frame,
		Context: xdpMD{DataEnd: uint32(len(frame)), IngressIfindex: ifindex},
	})
}

// dropReader reads drop_stats in one batch system call and says which
// reason grew since the last read: after a drop, exactly one by one.
type dropReader struct {
	m    *ebpf.Map
	keys []uint32
	vals []BoundaryPalCounter
	ncpu int
	last []uint64
}

func newDropReader(m *ebpf.Map) (*dropReader, error) {
	ncpu, err := ebpf.PossibleCPU()
	if err != nil {
		return nil, err
	}
	n := int(m.MaxEntries())
	r := &dropReader{m: m, keys: make([]uint32, n), vals: make([]BoundaryPalCounter, n*ncpu), ncpu: ncpu, last: make([]uint64, n)}
	r.last, err = r.read()
	return r, err
}

func (r *dropReader) read() ([]uint64, error) {
	var cursor ebpf.MapBatchCursor
	got, err := r.m.BatchLookup(&cursor, r.keys, r.vals, nil)
	if err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return nil, fmt.Errorf("read drop counters: %w", err)
	}
	sums := make([]uint64, len(r.keys))
	for i := 0; i < got; i++ {
		for _, c := range r.vals[i*r.ncpu : (i+1)*r.ncpu] {
			sums[r.keys[i]] += c.Packets
		}
	}
	return sums, nil
}

// grown returns the one reason counted since the last call; when that
// is not exactly one drop, rMax and what was counted.
func (r *dropReader) grown() (uint32, string, error) {
	now, err := r.read()
	if err != nil {
		return 0, "", err
	}
	reason, total := uint32(0), uint64(0)
	var all []string
	for i := range now {
		if d := now[i] - r.last[i]; d != 0 {
			reason, total = uint32(i), total+d
			all = append(all, fmt.Sprintf("%s +%d", reasonName(uint32(i)), d))
		}
	}
	r.last = now
	if total != 1 {
		return rMax, "drop counters grew: " + strings.Join(all, ", "), nil
	}
	return reason, "", nil
}

// sync forgets what was counted so far (events that drop nothing may run
// between reads).
func (r *dropReader) sync() error {
	now, err := r.read()
	if err == nil {
		r.last = now
	}
	return err
}
