package doctor

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/inspect"
	"golang.org/x/sys/unix"
)

// System is the machine doctor runs on.
type System struct{}

var _ Host = System{}

// Capability bits in /proc/self/status CapEff.
const (
	capNetAdmin = 12
	capSysAdmin = 21
	capBPF      = 39
)

func (System) Privileged() bool {
	eff, err := effectiveCaps()
	if err != nil {
		return os.Geteuid() == 0
	}
	has := func(c uint) bool { return eff&(1<<c) != 0 }
	return (has(capBPF) || has(capSysAdmin)) && has(capNetAdmin)
}

func effectiveCaps() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, found := strings.CutPrefix(s.Text(), "CapEff:"); found {
			return strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	return 0, errors.New("no CapEff in /proc/self/status")
}

func (System) KernelRelease() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", err
	}
	return unix.ByteSliceToString(u.Release[:]), nil
}

func (System) HaveProgramType(t ebpf.ProgramType) error { return features.HaveProgramType(t) }
func (System) HaveMapType(t ebpf.MapType) error         { return features.HaveMapType(t) }
func (System) HaveHelper(t ebpf.ProgramType, fn asm.BuiltinFunc) error {
	return features.HaveProgramHelper(t, fn)
}

func (System) FSType(path string) (int64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, err
	}
	return st.Type, nil
}

func (System) Stat(path string) error { _, err := os.Stat(path); return err }

const jitSysctl = "/proc/sys/net/core/bpf_jit_enable"

// JIT reads the sysctl, which only the host's network namespace shows;
// elsewhere it asks the kernel whether a loaded program was compiled.
func (System) JIT() (string, error) {
	if b, err := os.ReadFile(jitSysctl); err == nil {
		return string(b), nil
	}
	return probeJIT()
}

func (System) Memlock() (uint64, error) {
	var r unix.Rlimit
	err := unix.Getrlimit(unix.RLIMIT_MEMLOCK, &r)
	return r.Cur, err
}

func (System) LookPath(name string) (string, error) { return exec.LookPath(name) }

func (System) Output(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).Output()
	return string(out), err
}

// Link asks ip(8), as `palisade status` does, so the XDP attachment is
// read the same way everywhere.
func (System) Link(ifname string) (Link, error) {
	out, err := exec.Command("ip", "-j", "-d", "link", "show", "dev", ifname).Output()
	if err != nil {
		if _, nerr := os.Stat(filepath.Join("/sys/class/net", ifname)); errors.Is(nerr, os.ErrNotExist) {
			return Link{}, fmt.Errorf("%s: %w", ifname, os.ErrNotExist)
		}
		return Link{}, fmt.Errorf("ip link show %s: %w", ifname, err)
	}
	return parseIPLink(out)
}

func (System) Driver(ifname string) (string, error) {
	out, err := exec.Command("ethtool", "-i", ifname).Output()
	if err == nil {
		for _, line := range strings.Split(string(out), "\n") {
			if v, found := strings.CutPrefix(line, "driver: "); found {
				return strings.TrimSpace(v), nil
			}
		}
	}
	// Without ethtool, sysfs names the driver of devices on a bus.
	target, lerr := os.Readlink(filepath.Join("/sys/class/net", ifname, "device", "driver"))
	if lerr != nil {
		return "", fmt.Errorf("ethtool -i %s: %v; no driver in sysfs", ifname, err)
	}
	return filepath.Base(target), nil
}

func (System) Offloads(ifname string) (map[string]string, error) {
	out, err := exec.Command("ethtool", "-k", ifname).Output()
	if err != nil {
		return nil, fmt.Errorf("ethtool -k %s: %w", ifname, err)
	}
	return parseOffloads(string(out)), nil
}

func (System) ProbeNativeXDP(ifname string) error { return probeNativeXDP(ifname) }

func (System) PinnedLinks(pinPath string) ([]string, error) { return datapath.PinnedLinks(pinPath) }

func (System) RouteDev(addr netip.Addr) (RouteDev, error) { return routeDev(addr) }

func (System) VLANDevices() ([]datapath.VLANDev, error) { return datapath.HostVLANs() }

// parseIPLink reads the ifindex, state and XDP attachment from
// `ip -j -d link show`.
func parseIPLink(out []byte) (Link, error) {
	var links []struct {
		Ifindex int      `json:"ifindex"`
		Flags   []string `json:"flags"`
		XDP     *struct {
			Mode int `json:"mode"`
			Prog *struct {
				ID   int    `json:"id"`
				Name string `json:"name"`
			} `json:"prog"`
		} `json:"xdp"`
	}
	if err := json.Unmarshal(out, &links); err != nil || len(links) != 1 {
		return Link{}, fmt.Errorf("unexpected output of ip link: %.80q", out)
	}
	l := links[0]
	res := Link{Ifindex: l.Ifindex}
	for _, f := range l.Flags {
		res.Up = res.Up || f == "UP"
	}
	if l.XDP != nil && l.XDP.Mode != 0 {
		p := &XDPProgram{Mode: xdpModeName(l.XDP.Mode)}
		if l.XDP.Prog != nil {
			p.ID, p.Name = l.XDP.Prog.ID, l.XDP.Prog.Name
		}
		res.XDP = p
	}
	return res, nil
}

// xdpModeName names the kernel's XDP_ATTACHED_* values.
func xdpModeName(m int) string {
	switch m {
	case 1:
		return string(datapath.Native)
	case 2:
		return string(datapath.Generic)
	case 3:
		return "offload"
	case 4:
		return "multi"
	}
	return fmt.Sprintf("mode-%d", m)
}

// parseOffloads reads `ethtool -k`: "name: on [fixed]" lines.
func parseOffloads(out string) map[string]string {
	feats := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		k, v, found := strings.Cut(line, ":")
		if found && !strings.HasPrefix(line, "Features for") {
			feats[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return feats
}

// QueuePath checks the inspector's netfilter chain, its jump and the
// blackhole rules.
func (System) QueuePath() ([]string, error) { return inspect.CheckQueuePath(context.Background()) }

// MemTotal reads MemTotal from /proc/meminfo.
func (System) MemTotal() (uint64, error) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		var kb uint64
		if _, err := fmt.Sscanf(line, "MemTotal: %d kB", &kb); err == nil {
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("/proc/meminfo has no MemTotal")
}
