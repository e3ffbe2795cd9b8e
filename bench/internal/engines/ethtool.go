package engines

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"runtime"
	"unsafe"

	"github.com/palisade-psn/palisade/internal/lab"
	"golang.org/x/sys/unix"
)

// ethStats is ETH_SS_STATS, the string set of a driver's counters.
const (
	ethStats     = 1
	ethStringLen = 32
)

// VethStats reads a veth end's driver counters, as `ethtool -S` prints
// them (per-queue XDP packets, drops, transmit errors), with the ethtool
// ioctl from inside ns: a burst's counters are read in microseconds, not
// in the tens of milliseconds starting ethtool takes on a busy machine.
func VethStats(ns *lab.NS, ifname string) (map[string]uint64, error) {
	var stats map[string]uint64
	err := ns.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("socket for ethtool: %w", err)
		}
		defer unix.Close(fd)
		stats, err = readStats(fd, ifname)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("counters of %s in %s: %w", ifname, ns.Name, err)
	}
	return stats, nil
}

func readStats(fd int, ifname string) (map[string]uint64, error) {
	// struct ethtool_sset_info: cmd, reserved, sset_mask, then one count.
	info := make([]byte, 20)
	binary.NativeEndian.PutUint32(info[0:], unix.ETHTOOL_GSSET_INFO)
	binary.NativeEndian.PutUint64(info[8:], 1<<ethStats)
	if err := ethtool(fd, ifname, info); err != nil {
		return nil, fmt.Errorf("count counters: %w", err)
	}
	n := binary.NativeEndian.Uint32(info[16:])
	// struct ethtool_gstrings: cmd, string_set, len, then the names.
	names := make([]byte, 12+n*ethStringLen)
	binary.NativeEndian.PutUint32(names[0:], unix.ETHTOOL_GSTRINGS)
	binary.NativeEndian.PutUint32(names[4:], ethStats)
	binary.NativeEndian.PutUint32(names[8:], n)
	if err := ethtool(fd, ifname, names); err != nil {
		return nil, fmt.Errorf("name counters: %w", err)
	}
	// struct ethtool_stats: cmd, n_stats, then the values.
	vals := make([]byte, 8+n*8)
	binary.NativeEndian.PutUint32(vals[0:], unix.ETHTOOL_GSTATS)
	binary.NativeEndian.PutUint32(vals[4:], n)
	if err := ethtool(fd, ifname, vals); err != nil {
		return nil, fmt.Errorf("read counters: %w", err)
	}
	out := make(map[string]uint64, n)
	for i := uint32(0); i < n; i++ {
		name := names[12+i*ethStringLen : 12+(i+1)*ethStringLen]
		name, _, _ = bytes.Cut(name, []byte{0})
		out[string(name)] = binary.NativeEndian.Uint64(vals[8+i*8:])
	}
	return out, nil
}

// ethtool makes one SIOCETHTOOL request whose command buffer is buf.
func ethtool(fd int, ifname string, buf []byte) error {
	var ifr struct {
		name [unix.IFNAMSIZ]byte
		data uintptr
		_    [16]byte // the rest of struct ifreq's union
	}
	copy(ifr.name[:], ifname)
	ifr.data = uintptr(unsafe.Pointer(&buf[0]))
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCETHTOOL, uintptr(unsafe.Pointer(&ifr)))
	runtime.KeepAlive(buf) // only a uintptr refers to it during the call
	if errno != 0 {
		return errno
	}
	return nil
}
