package doctor

import (
	"net/netip"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/palisade-psn/palisade/pkg/datapath"
)

// Host is what the checks read from the machine. System is the real one;
// tests pass fakes.
type Host interface {
	// Privileged reports whether the process holds CAP_BPF (or
	// CAP_SYS_ADMIN) and CAP_NET_ADMIN, without which probes fail.
	Privileged() bool
	KernelRelease() (string, error)
	// HaveProgramType, HaveMapType and HaveHelper return nil, an error
	// wrapping ebpf.ErrNotSupported, or why the probe itself failed.
	HaveProgramType(ebpf.ProgramType) error
	HaveMapType(ebpf.MapType) error
	HaveHelper(ebpf.ProgramType, asm.BuiltinFunc) error
	// FSType is the statfs magic of the file system holding path.
	FSType(path string) (int64, error)
	Stat(path string) error
	// JIT is net.core.bpf_jit_enable: "0" off, "1" on, "2" on with debug.
	JIT() (string, error)
	// Memlock is RLIMIT_MEMLOCK (soft limit) of this process.
	Memlock() (uint64, error)
	LookPath(name string) (string, error)
	// Output runs a command and returns its standard output.
	Output(name string, args ...string) (string, error)

	// Link describes an interface; os.ErrNotExist wrapped if there is none.
	Link(ifname string) (Link, error)
	Driver(ifname string) (string, error)
	// Offloads are `ethtool -k` features: name -> "on", "off", "on [fixed]".
	Offloads(ifname string) (map[string]string, error)
	// ProbeNativeXDP attaches a program that passes everything in driver
	// mode and removes it at once; an error wrapping ebpf.ErrNotSupported
	// means the driver has no native XDP.
	ProbeNativeXDP(ifname string) error
	// PinnedLinks lists the interfaces with a link pinned under pinPath.
	PinnedLinks(pinPath string) ([]string, error)

	// RouteDev is where the routing table sends a packet to addr, as
	// `ip route get` says; ErrNoRoute wrapped if nowhere.
	RouteDev(addr netip.Addr) (RouteDev, error)
	// VLANDevices are the host's VLAN devices (/proc/net/vlan/config).
	VLANDevices() ([]datapath.VLANDev, error)
	// MemTotal is the host's memory in bytes (/proc/meminfo MemTotal).
	MemTotal() (uint64, error)
	// QueuePath lists the parts of the inspector's queue path missing
	// now ("ipv4 jump", "ipv6 blackhole", ...).
	QueuePath() ([]string, error)
}

// Link is an interface as the kernel reports it.
type Link struct {
	Ifindex int
	Up      bool
	XDP     *XDPProgram // nil: no XDP program attached
}

// XDPProgram is a program attached to an interface.
type XDPProgram struct {
	ID   int
	Name string
	Mode string // native, generic, offload or multi
}
