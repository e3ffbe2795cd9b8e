package doctor

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
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
		{name: "stray pinned interface", host: func(h *fakeHost) { h.pinned = []string{"org0", "old9"} },
			want: map[string]want{"pinned state": {Warn, "palisade detach old9"}}},
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
}
