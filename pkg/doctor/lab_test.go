package doctor_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/palisade-psn/palisade/internal/agenttest"
	"github.com/palisade-psn/palisade/internal/lab"
	"github.com/palisade-psn/palisade/pkg/doctor"
)

// TestDoctorInLab runs the real `palisade doctor` inside a lab namespace
// holding a veth with native XDP, a bridge without, a veth someone else's
// XDP program sits on, and a name that does not exist; then checks that
// the probe left nothing behind and did not touch the foreign program.
func TestDoctorInLab(t *testing.T) {
	l := lab.NewT(t) // skips unless root
	bin, err := agenttest.Build()
	if err != nil {
		t.Fatal(err)
	}
	ns, err := l.NS("doc")
	if err != nil {
		t.Fatal(err)
	}
	for _, pair := range [][2]string{{"v0", "p0"}, {"vx", "px"}} {
		if err := l.Veth(ns, pair[0], ns, pair[1]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ns.Exec(context.Background(), "ip", "link", "add", "br0", "type", "bridge"); err != nil {
		t.Fatal(err)
	}
	foreignID := attachForeign(t, ns, "vx")

	r := runDoctor(t, ns, bin.Palisade, "v0", "br0", "vx", "nope0")
	for key, want := range map[string]doctor.Status{
		"interface@nope0": doctor.Fail, "driver@v0": doctor.OK, "xdp@v0": doctor.OK,
		"xdp@br0": doctor.Fail, "xdp@vx": doctor.Fail, "rx vlan@v0": doctor.OK, "bpffs": doctor.OK,
	} {
		check, subject, _ := strings.Cut(key, "@")
		i := slices.IndexFunc(r.Results, func(x doctor.Result) bool { return x.Check == check && x.Subject == subject })
		if i < 0 || r.Results[i].Status != want {
			t.Errorf("%s: want %s, report:\n%+v", key, want, r.Results)
		}
	}
	if r.OK {
		t.Error("report OK despite failures")
	}
	if id := xdpProgID(t, ns, "v0"); id != 0 {
		t.Errorf("the probe left program %d on v0", id)
	}
	if id := xdpProgID(t, ns, "vx"); id != foreignID {
		t.Errorf("vx runs program %d, want the foreign %d untouched", id, foreignID)
	}
}

// TestDoctorRoutesInLab runs doctor on the standard lab's gateway, which
// routes each organisation's prefixes to its link (the VLANs' to the
// police link itself), then misroutes one prefix and takes the route to
// another away.
func TestDoctorRoutesInLab(t *testing.T) {
	l := lab.NewT(t) // skips unless root
	bin, err := agenttest.Build()
	if err != nil {
		t.Fatal(err)
	}
	gw, err := lab.NewGateway(l, lab.StandardSpec())
	if err != nil {
		t.Fatal(err)
	}
	routeResults := func() []doctor.Result {
		var rs []doctor.Result
		for _, res := range runDoctor(t, gw.GW, bin.Palisade, gw.GWIfs...).Results {
			if res.Check == "route back" {
				rs = append(rs, res)
			}
		}
		return rs
	}
	rs := routeResults()
	if len(rs) != 1 || rs[0].Status != doctor.OK || !strings.Contains(rs[0].Detail, "all 10 registered prefixes of 5 organisations") {
		t.Fatalf("standard lab: route back = %+v; want one OK", rs)
	}

	for _, args := range [][]string{
		{"ip", "route", "add", "198.18.3.0/25", "dev", "svc0"},
		{"ip", "addr", "del", "198.18.5.1/24", "dev", "org1"},
	} {
		if out, err := gw.GW.Exec(context.Background(), args[0], args[1:]...); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
	rs = routeResults()
	want := map[string]string{
		"surrey-police": "198.18.3.0/24 (route to its first address 198.18.3.0) is routed through svc0, not back through its ingress org1",
		"elmbridge-bc":  "198.18.5.0/24 (route to its first address 198.18.5.0) has no route, not back through its ingress org1 VLAN 200",
	}
	if len(rs) != len(want) {
		t.Fatalf("misrouted lab: route back = %+v; want %d warnings", rs, len(want))
	}
	for _, res := range rs {
		if res.Status != doctor.Warn || !strings.Contains(res.Detail, want[res.Subject]) {
			t.Errorf("%s: %s %q; want warn containing %q", res.Subject, res.Status, res.Detail, want[res.Subject])
		}
	}
}

// attachForeign puts a pass-all XDP program named lab_foreign on ifname,
// held by this test until it ends.
func attachForeign(t *testing.T, ns *lab.NS, ifname string) int {
	t.Helper()
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: "lab_foreign", Type: ebpf.XDP, License: "GPL",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 2), asm.Return()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { prog.Close() })
	idx, err := ns.Ifindex(ifname)
	if err != nil {
		t.Fatal(err)
	}
	err = ns.Do(func() error {
		lk, err := link.AttachXDP(link.XDPOptions{Program: prog, Interface: idx, Flags: link.XDPDriverMode})
		if err == nil {
			t.Cleanup(func() { lk.Close() })
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	info, err := prog.Info()
	if err != nil {
		t.Fatal(err)
	}
	id, _ := info.ID()
	return int(id)
}

// runDoctor runs the CLI in the namespace's network but the host's mount
// namespace (nsenter, not `ip netns exec`, which would hide bpffs).
func runDoctor(t *testing.T, ns *lab.NS, palisade string, ifaces ...string) *doctor.Report {
	t.Helper()
	rules, _ := filepath.Abs("../../rules")
	cfg := filepath.Join(t.TempDir(), "palisaded.yaml")
	writeFile(t, cfg, "rules: "+rules+"\ninterfaces: ["+strings.Join(ifaces, ", ")+"]\npin_path: /sys/fs/bpf/palisade-doctor-lab\n")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "nsenter", "--net=/run/netns/"+ns.Name, palisade, "doctor", "--config", cfg, "-o", "json").Output()
	if ee, isExit := err.(*exec.ExitError); err != nil && (!isExit || ee.ExitCode() != 1) {
		t.Fatalf("palisade doctor: %v\n%s", err, out)
	}
	var r doctor.Report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("doctor output: %v\n%s", err, out)
	}
	if (err == nil) != r.OK {
		t.Errorf("exit status %v does not match ok=%v", err, r.OK)
	}
	return &r
}

func xdpProgID(t *testing.T, ns *lab.NS, ifname string) int {
	t.Helper()
	out, err := exec.Command("ip", "-n", ns.Name, "-j", "-d", "link", "show", "dev", ifname).Output()
	if err != nil {
		t.Fatal(err)
	}
	var links []struct {
		XDP *struct {
			Prog struct{ ID int } `json:"prog"`
		} `json:"xdp"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		t.Fatalf("ip link show %s: %v", ifname, err)
	}
	if links[0].XDP == nil {
		return 0
	}
	return links[0].XDP.Prog.ID
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
