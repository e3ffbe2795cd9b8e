package doctor

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/palisade-psn/palisade/pkg/datapath"
	"golang.org/x/sys/unix"
)

// fakeHost is a machine described field by field; the zero values of a
// healthyHost are a gateway where every check passes.
type fakeHost struct {
	queuePathMissing []string
	priv             bool
	release          string
	featureErr       map[string]error // "xdp", "map lru_hash", "helper fib_lookup"...
	fsMagic          int64
	jit              string
	missing          map[string]bool // paths Stat does not find
	memlock          uint64
	noIptables       bool
	iptablesV        string
	links            map[string]Link
	drivers          map[string]string
	offloads         map[string]map[string]string
	nativeErr        map[string]error
	pinned           []string
	probedIface      []string
	routes           map[string]RouteDev // address -> where it is routed; absent: no route
	vlans            []datapath.VLANDev
	memTotal         uint64
}

func healthyHost() *fakeHost {
	return &fakeHost{
		priv: true, release: "6.1.0-18-amd64", fsMagic: unix.BPF_FS_MAGIC,
		jit:     "1\n",
		memlock: 8 << 20,
		links: map[string]Link{
			"org0": {Ifindex: 3, Up: true}, "org1": {Ifindex: 4, Up: true},
		},
		drivers: map[string]string{"org0": "ixgbe", "org1": "ice"},
		offloads: map[string]map[string]string{
			"org0": {"rx-vlan-offload": "off"}, "org1": {"rx-vlan-offload": "off"},
		},
		routes:   exampleRoutes(),
		memTotal: 8 << 30,
	}
}

func (f *fakeHost) MemTotal() (uint64, error)    { return f.memTotal, nil }
func (f *fakeHost) QueuePath() ([]string, error) { return f.queuePathMissing, nil }

// exampleRoutes routes the example rules' prefixes as the standard lab
// does: surrey-cc and mole-valley-dc (1, 2) to org0, the police link and
// its VLANs (3, 4, 5) to org1.
func exampleRoutes() map[string]RouteDev {
	r := map[string]RouteDev{}
	for n, dev := range map[int]RouteDev{1: org0, 2: org0, 3: org1, 4: org1, 5: org1} {
		r[fmt.Sprintf("198.18.%d.0", n)] = dev
		r[fmt.Sprintf("2001:db8:%d::", n)] = dev
	}
	return r
}

var org0, org1 = RouteDev{Ifindex: 3, Name: "org0"}, RouteDev{Ifindex: 4, Name: "org1"}

func (f *fakeHost) Privileged() bool               { return f.priv }
func (f *fakeHost) KernelRelease() (string, error) { return f.release, nil }
func (f *fakeHost) feature(name string) error      { return f.featureErr[name] }
func (f *fakeHost) HaveProgramType(t ebpf.ProgramType) error {
	return f.feature("xdp")
}
func (f *fakeHost) HaveMapType(t ebpf.MapType) error {
	for _, m := range neededMaps {
		if m.t == t {
			return f.feature("map " + m.name)
		}
	}
	return nil
}
func (f *fakeHost) HaveHelper(_ ebpf.ProgramType, fn asm.BuiltinFunc) error {
	for _, h := range neededHelpers {
		if h.fn == fn {
			return f.feature("helper " + h.name)
		}
	}
	return nil
}
func (f *fakeHost) FSType(string) (int64, error) { return f.fsMagic, nil }
func (f *fakeHost) JIT() (string, error)         { return f.jit, nil }
func (f *fakeHost) Stat(p string) error {
	if f.missing[p] {
		return os.ErrNotExist
	}
	return nil
}
func (f *fakeHost) Memlock() (uint64, error) { return f.memlock, nil }
func (f *fakeHost) LookPath(name string) (string, error) {
	if f.noIptables {
		return "", errors.New("not found")
	}
	return "/usr/sbin/" + name, nil
}
func (f *fakeHost) Output(string, ...string) (string, error) {
	if f.iptablesV != "" {
		return f.iptablesV, nil
	}
	return "iptables v1.8.9 (nf_tables)\n", nil
}
func (f *fakeHost) Link(ifname string) (Link, error) {
	if l, found := f.links[ifname]; found {
		return l, nil
	}
	return Link{}, fmt.Errorf("%s: %w", ifname, os.ErrNotExist)
}
func (f *fakeHost) Driver(ifname string) (string, error) { return f.drivers[ifname], nil }
func (f *fakeHost) Offloads(ifname string) (map[string]string, error) {
	return f.offloads[ifname], nil
}
func (f *fakeHost) ProbeNativeXDP(ifname string) error {
	f.probedIface = append(f.probedIface, ifname)
	return f.nativeErr[ifname]
}
func (f *fakeHost) PinnedLinks(string) ([]string, error) { return f.pinned, nil }
func (f *fakeHost) RouteDev(a netip.Addr) (RouteDev, error) {
	if r, found := f.routes[a.String()]; found {
		return r, nil
	}
	return RouteDev{}, fmt.Errorf("%s: %w", a, ErrNoRoute)
}
func (f *fakeHost) VLANDevices() ([]datapath.VLANDev, error) { return f.vlans, nil }

// writeConfig writes a palisaded config over the repository's example
// rules (org0 untagged, org1 with VLANs 200 and 300) and returns its path.
func writeConfig(t *testing.T, body string) string {
	t.Helper()
	rules, err := filepath.Abs("../../rules")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "palisaded.yaml")
	text := fmt.Sprintf("rules: %s\ninterfaces: [org0, org1]\n%s", rules, body)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
