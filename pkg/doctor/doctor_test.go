package doctor

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/palisade-psn/palisade/pkg/datapath"
	"golang.org/x/sys/unix"
)

// want is the status (and optionally a fragment of the detail) of one
// check, keyed "check" or "check@subject".
type want struct {
	status Status
	detail string
}

func TestChecks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		host   func(*fakeHost)
		config string // appended to the config; "-" for no config file
		opts   func(*Options)
		want   map[string]want
	}{
		// The example rules put two organisations on org0 untagged, which
		// validate warns of.
		{name: "healthy gateway", want: map[string]want{
			"privileges": {OK, ""}, "kernel": {OK, "6.1.0"}, "bpf features": {OK, ""},
			"bpffs": {OK, "/sys/fs/bpf"}, "config": {OK, ""}, "rules": {Warn, "5 organisations, 2 warning(s)"},
			"xdp@org0": {OK, "native XDP supported"}, "rx vlan@org1": {OK, ""},
			"driver@org1": {OK, "ice"}, "pinned state": {OK, "nothing pinned"},
		}},
		{name: "old kernel", host: func(h *fakeHost) { h.release = "5.4.0-150-generic" },
			want: map[string]want{"kernel": {Fail, "5.11 or later"}, "memlock": {Warn, "8192 KiB"}}},
		{name: "memlock unlimited on an old kernel", host: func(h *fakeHost) { h.release = "5.10.0"; h.memlock = unix.RLIM_INFINITY },
			want: map[string]want{"memlock": {OK, "unlimited"}}},
		{name: "kernel without devmap_hash", host: func(h *fakeHost) {
			h.featureErr = map[string]error{"map devmap_hash": fmt.Errorf("probe: %w", ebpf.ErrNotSupported)}
		}, want: map[string]want{"bpf features": {Fail, "map devmap_hash"}}},
		{name: "probe refused", host: func(h *fakeHost) {
			h.featureErr = map[string]error{"xdp": unix.EPERM}
		}, want: map[string]want{"bpf features": {Warn, "could not probe"}}},
		{name: "not root", host: func(h *fakeHost) { h.priv = false }, want: map[string]want{
			"privileges": {Warn, "not root"}, "xdp@org0": {Warn, "not probed"},
		}},
		{name: "bpffs not mounted", host: func(h *fakeHost) { h.fsMagic = 0x858458f6 /* ramfs */ },
			want: map[string]want{"bpffs": {Fail, "mount -t bpf"}}},
		{name: "jit off, no BTF, no iptables", host: func(h *fakeHost) {
			h.jit = "0\n"
			h.missing = map[string]bool{vmlinuxBTF: true}
			h.noIptables = true
		}, want: map[string]want{"bpf jit": {Warn, "interpreted"}, "btf": {Warn, "missing"}, "iptables": {Fail, "ip6tables-restore"}}},
		{name: "iptables legacy", host: func(h *fakeHost) { h.iptablesV = "iptables v1.8.7 (legacy)\n" },
			want: map[string]want{"iptables": {Fail, "iptables-nft"}}},
		{name: "interface missing and down", host: func(h *fakeHost) {
			delete(h.links, "org0")
			h.links["org1"] = Link{Ifindex: 4}
		}, want: map[string]want{"interface@org0": {Fail, "does not exist"}, "interface@org1": {Warn, "DOWN"}}},
		{name: "another XDP program attached", host: func(h *fakeHost) {
			h.links["org0"] = Link{Ifindex: 3, Up: true, XDP: &XDPProgram{ID: 77, Name: "xdp_lb", Mode: "native"}}
		}, want: map[string]want{"xdp@org0": {Fail, `CONFLICT: program "xdp_lb" (id 77`}}},
		{name: "Palisade attached and pinned", host: func(h *fakeHost) {
			h.links["org0"] = Link{Ifindex: 3, Up: true, XDP: &XDPProgram{ID: 9, Name: boundaryProgram, Mode: "native"}}
			h.pinned = []string{"org0"}
		}, want: map[string]want{"xdp@org0": {OK, "Palisade attached (native"}, "pinned state": {OK, "[org0]"}}},
		{name: "Palisade attached elsewhere", host: func(h *fakeHost) {
			h.links["org0"] = Link{Ifindex: 3, Up: true, XDP: &XDPProgram{ID: 9, Name: boundaryProgram, Mode: "generic"}}
		}, want: map[string]want{"xdp@org0": {Warn, "not pinned under"}}},
		{name: "Palisade attached in the other mode", host: func(h *fakeHost) {
			h.links["org0"] = Link{Ifindex: 3, Up: true, XDP: &XDPProgram{ID: 9, Name: boundaryProgram, Mode: "generic"}}
			h.pinned = []string{"org0"}
		}, want: map[string]want{"xdp@org0": {Warn, "config asks for native"}}},
		{name: "driver without native XDP", host: func(h *fakeHost) {
			h.nativeErr = map[string]error{"org0": fmt.Errorf("%w: %w", ebpf.ErrNotSupported, unix.EOPNOTSUPP)}
		}, want: map[string]want{"xdp@org0": {Fail, "xdp_mode is native"}}},
		{name: "driver without native XDP, generic configured", config: "xdp_mode: generic\n", host: func(h *fakeHost) {
			h.nativeErr = map[string]error{"org0": ebpf.ErrNotSupported}
		}, want: map[string]want{"xdp@org0": {Warn, "generic mode, as configured"}, "xdp@org1": {Warn, "set xdp_mode: native"}}},
		{name: "rx vlan offload on", host: func(h *fakeHost) {
			h.offloads["org0"]["rx-vlan-offload"] = "on"
			h.offloads["org1"]["rx-vlan-offload"] = "on"
		}, want: map[string]want{"rx vlan@org0": {Warn, "no rule names a VLAN"}, "rx vlan@org1": {Fail, "rxvlan off"}}},
		{name: "rx vlan offload fixed", host: func(h *fakeHost) { h.offloads["org1"]["rx-vlan-offload"] = "on [fixed]" },
			want: map[string]want{"rx vlan@org1": {Fail, "fixed"}}},
		{name: "veth carrying VLANs", host: func(h *fakeHost) { h.drivers["org1"] = "veth"; h.drivers["org0"] = "veth" },
			want: map[string]want{"rx vlan@org1": {Warn, "txvlan off"}, "rx vlan@org0": {OK, "veth"}}},
		{name: "no config yet", config: "-", opts: func(o *Options) { o.Interfaces = []string{"org0"} },
			want: map[string]want{"config": {Warn, "not found"}, "xdp@org0": {OK, ""}}},
		{name: "named config missing", config: "-", opts: func(o *Options) { o.ConfigExplicit = true },
			want: map[string]want{"config": {Fail, "no such file"}}},
		{name: "misspelt config key", config: "xdp_mod: native\n", want: map[string]want{"config": {Fail, "xdp_mod"}}},
		{name: "rules refused", config: "-", opts: func(o *Options) { o.ConfigPath = writeBrokenRulesConfig(t) },
			want: map[string]want{"rules": {Fail, "refused"}, "config": {OK, ""}}},
		{name: "no probe asked", opts: func(o *Options) { o.ProbeXDP = false },
			want: map[string]want{"xdp@org0": {Warn, "not probed (--no-xdp-probe)"}}},
		{name: "queue path whole", host: func(h *fakeHost) { h.pinned = []string{"org0"} },
			want: map[string]want{"inspection queue path": {OK, "mangle chain PALISADE-INSPECT"}}},
		{name: "queue path flushed, agent gone", host: func(h *fakeHost) {
			h.pinned = []string{"org0"}
			h.queuePathMissing = []string{"ipv4 chain", "ipv4 jump"}
		}, want: map[string]want{"inspection queue path": {Fail, "missing ipv4 chain, ipv4 jump: inspected flows are not decided"}}},
		{name: "blackhole gone", host: func(h *fakeHost) {
			h.pinned = []string{"org0"}
			h.queuePathMissing = []string{"ipv6 blackhole"}
		}, want: map[string]want{"inspection queue path": {Fail, "fail-closed inspected flows would be forwarded uninspected"}}},
		{name: "stray pinned interface", host: func(h *fakeHost) { h.pinned = []string{"org0", "old9"} },
			want: map[string]want{"pinned state": {Warn, "palisade detach old9"}}},
		{name: "routes back to every ingress", want: map[string]want{
			"route back": {OK, "all 10 registered prefixes of 5 organisations are routed back through their ingress (route to each prefix's first address)"},
		}},
		{name: "prefix routed elsewhere", host: func(h *fakeHost) { h.routes["198.18.3.0"] = RouteDev{Ifindex: 9, Name: "svc0"} },
			want: map[string]want{"route back@surrey-police": {Warn,
				"surrey-police: 198.18.3.0/24 (route to its first address 198.18.3.0) is routed through svc0, not back through its ingress org1: palisaded drops its new flows as reverse_path"}}},
		{name: "prefix without a route", host: func(h *fakeHost) { delete(h.routes, "2001:db8:1::") },
			want: map[string]want{"route back@surrey-cc": {Warn, "2001:db8:1::/48 (route to its first address 2001:db8:1::) has no route, not back through its ingress org0"}}},
		{name: "VLAN prefix routed through its VLAN device", host: func(h *fakeHost) {
			h.vlans = []datapath.VLANDev{{Ifindex: 20, Parent: 4, VLAN: 300}}
			h.routes["198.18.4.0"] = RouteDev{Ifindex: 20, Name: "org1.300"}
		}, want: map[string]want{"route back": {OK, "all 10"}}},
		{name: "VLAN prefix routed through another VLAN's device", host: func(h *fakeHost) {
			h.vlans = []datapath.VLANDev{{Ifindex: 20, Parent: 4, VLAN: 300}, {Ifindex: 21, Parent: 4, VLAN: 200}}
			h.routes["198.18.4.0"] = RouteDev{Ifindex: 21, Name: "org1.200"} // nhs-trust is VLAN 300
			h.routes["198.18.3.0"] = RouteDev{Ifindex: 20, Name: "org1.300"} // surrey-police is untagged
		}, want: map[string]want{
			"route back@nhs-trust":     {Warn, "is routed through org1.200, not back through its ingress org1 VLAN 300 (org1 itself or its VLAN 300 device)"},
			"route back@surrey-police": {Warn, "is routed through org1.300"},
		}},
		{name: "table sizes fit", want: map[string]want{
			"table memory": {OK, "flow table 262144 entries and fragment table 16384: 48 MiB of kernel memory, allocated at load whatever the traffic, of the host's 8192 MiB"},
			"flow quotas":  {OK, "5 organisations' quotas add up to 262140 of the flow table's 262144 entries (fair share 52428)"},
		}},
		{name: "tables too large for the host", host: func(h *fakeHost) { h.memTotal = 128 << 20 },
			want: map[string]want{"table memory": {Warn, "more than a quarter of the host's 128 MiB; lower flow_table_size"}}},
		{name: "quotas past the table", config: "flow_quota: 100000\n",
			want: map[string]want{"flow quotas": {Warn, "add up to 500000, past the flow table's 262144 entries"}}},
		{name: "a fair share too small", config: "flow_table_size: 1000\n",
			want: map[string]want{"flow quotas": {Warn, "5 organisation(s) may hold fewer than 256 flows ([elmbridge-bc mole-valley-dc nhs-trust] and 2 more): a fair share of 1000 entries over 5 organisations is 200"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := healthyHost()
			if tc.host != nil {
				tc.host(h)
			}
			o := Options{ProbeXDP: true, ConfigPath: filepath.Join(t.TempDir(), "absent.yaml")}
			if tc.config != "-" {
				o.ConfigPath = writeConfig(t, tc.config)
			}
			if tc.opts != nil {
				tc.opts(&o)
			}
			r := Run(h, o)
			for key, w := range tc.want {
				checkResult(t, r, key, w)
			}
			if fails := r.Counts()[Fail]; r.OK != (fails == 0) {
				t.Errorf("OK = %v with %d failures", r.OK, fails)
			}
		})
	}
}

func checkResult(t *testing.T, r *Report, key string, w want) {
	t.Helper()
	check, subject, _ := strings.Cut(key, "@")
	i := slices.IndexFunc(r.Results, func(res Result) bool { return res.Check == check && res.Subject == subject })
	if i < 0 {
		t.Errorf("%s: no such result in %+v", key, r.Results)
		return
	}
	got := r.Results[i]
	if got.Status != w.status || !strings.Contains(got.Detail, w.detail) {
		t.Errorf("%s = %s %q; want %s containing %q", key, got.Status, got.Detail, w.status, w.detail)
	}
}

// A program already on the interface must never be replaced by the probe.
func TestProbeNeverTouchesAnAttachedProgram(t *testing.T) {
	h := healthyHost()
	h.links["org0"] = Link{Ifindex: 3, Up: true, XDP: &XDPProgram{ID: 77, Name: "xdp_lb", Mode: "native"}}
	Run(h, Options{ProbeXDP: true, ConfigPath: writeConfig(t, "")})
	if slices.Contains(h.probedIface, "org0") || !slices.Contains(h.probedIface, "org1") {
		t.Fatalf("probed %v; want org1 only", h.probedIface)
	}
	h = healthyHost()
	Run(h, Options{ProbeXDP: false, ConfigPath: writeConfig(t, "")})
	if len(h.probedIface) > 0 {
		t.Fatalf("probed %v with --no-xdp-probe", h.probedIface)
	}
}

func TestParseIPLink(t *testing.T) {
	out := `[{"ifindex":5,"ifname":"org0","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"xdp":{"mode":2,"prog":{"id":42,"name":"xdp_boundary","tag":"ab","jited":1}}}]`
	l, err := parseIPLink([]byte(out))
	if err != nil || l.Ifindex != 5 || !l.Up || l.XDP == nil || l.XDP.ID != 42 || l.XDP.Name != "xdp_boundary" || l.XDP.Mode != "generic" {
		t.Fatalf("parseIPLink = %+v %+v, %v", l, l.XDP, err)
	}
	l, err = parseIPLink([]byte(`[{"ifindex":6,"flags":["BROADCAST"]}]`))
	if err != nil || l.Up || l.XDP != nil {
		t.Fatalf("parseIPLink without xdp = %+v, %v", l, err)
	}
	if _, err := parseIPLink([]byte(`[]`)); err == nil {
		t.Fatal("parseIPLink accepted no interface")
	}
}

func TestParseOffloads(t *testing.T) {
	f := parseOffloads("Features for org0:\nrx-checksumming: on\nrx-vlan-offload: on [fixed]\ntx-vlan-offload: off\n")
	if f["rx-vlan-offload"] != "on [fixed]" || f["tx-vlan-offload"] != "off" || len(f) != 3 {
		t.Fatalf("parseOffloads = %v", f)
	}
}

// writeBrokenRulesConfig names a rules directory with an error in it.
func writeBrokenRulesConfig(t *testing.T) string {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "services.yaml"), []byte("services:\n  web: {to: [not-a-prefix], ports: [\"443/tcp\"]}\n"), 0o600)
	path := filepath.Join(t.TempDir(), "palisaded.yaml")
	os.WriteFile(path, []byte("rules: "+dir+"\ninterfaces: [org0]\n"), 0o600)
	return path
}

func TestBrokenRulesDetail(t *testing.T) {
	r := Run(healthyHost(), Options{ConfigPath: writeBrokenRulesConfig(t)})
	checkResult(t, r, "rules", want{Fail, "services.yaml:2"})
	if slices.ContainsFunc(r.Results, func(res Result) bool { return res.Check == routeCheck }) {
		t.Errorf("routes checked without rules: %+v", r.Results)
	}
}

// One warning per prefix: both of an organisation's prefixes are named.
func TestRouteBackWarnsPerPrefix(t *testing.T) {
	h := healthyHost()
	h.routes = map[string]RouteDev{}
	r := Run(h, Options{ConfigPath: writeConfig(t, "")})
	var warned []string
	for _, res := range r.Results {
		if res.Check == routeCheck && res.Status == Warn {
			warned = append(warned, res.Detail)
		}
	}
	if len(warned) != 10 || !strings.Contains(warned[0], "elmbridge-bc: 198.18.5.0/24") || !strings.Contains(warned[1], "elmbridge-bc: 2001:db8:5::/48") {
		t.Fatalf("warnings %q; want 10, one per prefix", warned)
	}
}

func TestParseRoute(t *testing.T) {
	msg := make([]byte, unix.SizeofRtMsg, unix.SizeofRtMsg+8)
	msg[7] = unix.RTN_UNICAST
	oif := []byte{8, 0, unix.RTA_OIF, 0, 0, 0, 0, 0} // len 8, type RTA_OIF, then the index
	binary.NativeEndian.PutUint32(oif[4:], 7)
	typ, idx, err := parseRoute(append(msg, oif...))
	if err != nil || typ != unix.RTN_UNICAST || idx != 7 {
		t.Fatalf("parseRoute = %d, %d, %v; want unicast through 7", typ, idx, err)
	}
}
