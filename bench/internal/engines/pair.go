package engines

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/palisade-psn/palisade/internal/lab"
	"golang.org/x/sys/unix"
)

// Pair is one engine's pair of namespaces: Gen owns the sending veth end
// (TxIf), FW the engine and the receiving end (RxIf), plus a veth towards
// 198.19.0.0/16 so that the kernel stack has somewhere to forward to.
type Pair struct {
	Gen, FW *lab.NS
	TxIf    string
	RxIf    string // unique per pair: it names the NAPI thread to pin
	RxMAC   net.HardwareAddr
	NAPI    []int // pids of the receiver's NAPI threads
}

// Addresses of the forwarding path (all in 198.18.0.0/15: never routed).
const (
	egressAddr = "198.18.255.1/30"
	nextHop    = "198.18.255.2"
	nextHopMAC = "02:00:00:00:00:02"
	destNet    = "198.19.0.0/16"
)

// NewPair builds pair id in l: no IPv6 (nothing but the generator's frames
// may reach the receiver, or the accounting would not add up), forwarding
// on, reverse-path filtering off (sources are not routed back).
func NewPair(l *lab.Lab, id int) (*Pair, error) {
	p := &Pair{TxIf: "tx0", RxIf: fmt.Sprintf("bx%d", id)}
	var err error
	if p.Gen, err = l.NS(fmt.Sprintf("g%d", id)); err != nil {
		return nil, err
	}
	if p.FW, err = l.NS(fmt.Sprintf("f%d", id)); err != nil {
		return nil, err
	}
	quiet := []string{"net.ipv6.conf.all.disable_ipv6", "net.ipv6.conf.default.disable_ipv6"}
	for _, ns := range []*lab.NS{p.Gen, p.FW} {
		for _, k := range quiet {
			if err := ns.Sysctl(k, "1"); err != nil {
				return nil, err
			}
		}
	}
	for _, k := range []string{"net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"} {
		kv := strings.SplitN(k, "=", 2)
		if err := p.FW.Sysctl(kv[0], kv[1]); err != nil {
			return nil, err
		}
	}
	if err := l.Veth(p.Gen, p.TxIf, p.FW, p.RxIf); err != nil {
		return nil, err
	}
	if err := p.egress(l); err != nil {
		return nil, err
	}
	p.RxMAC, err = mac(p.FW, p.RxIf)
	return p, err
}

// egress gives the stack a route to every destination the rules name,
// through a neighbour that is always resolved.
func (p *Pair) egress(l *lab.Lab) error {
	if err := l.Veth(p.FW, "eg0", p.FW, "eg1"); err != nil {
		return err
	}
	if err := p.FW.Addr("eg0", egressAddr); err != nil {
		return err
	}
	if _, err := run(p.FW, cmdTimeout, nil, "ip", "neigh", "add", nextHop, "lladdr", nextHopMAC, "dev", "eg0", "nud", "permanent"); err != nil {
		return err
	}
	return p.FW.Route(destNet, nextHop)
}

func mac(ns *lab.NS, ifname string) (net.HardwareAddr, error) {
	var hw net.HardwareAddr
	err := ns.Do(func() error {
		ifi, err := net.InterfaceByName(ifname)
		if err != nil {
			return fmt.Errorf("interface %s in %s: %w", ifname, ns.Name, err)
		}
		hw = ifi.HardwareAddr
		return nil
	})
	return hw, err
}

// ThreadNAPI moves the receiver's NAPI polling into a kernel thread and
// pins it to cpu at nice -20, so that the engine's work (XDP, and the stack
// after it) runs on that CPU and the generator alone on the other. A veth has NAPI
// only once an XDP program is attached: call this after the engine's Setup.
func (p *Pair) ThreadNAPI(cpu int) error {
	before := napiThreads(p.RxIf)
	cmd := fmt.Sprintf("echo 1 > /sys/class/net/%s/threaded", p.RxIf)
	if _, err := run(p.FW, cmdTimeout, nil, "sh", "-c", cmd); err != nil {
		return fmt.Errorf("thread NAPI of %s: %w", p.RxIf, err)
	}
	for pid := range napiThreads(p.RxIf) {
		if !before[pid] {
			p.NAPI = append(p.NAPI, pid)
		}
	}
	if len(p.NAPI) == 0 {
		return fmt.Errorf("no NAPI thread appeared for %s in %s (no XDP program attached?)", p.RxIf, p.FW.Name)
	}
	var set unix.CPUSet
	set.Set(cpu)
	for _, pid := range p.NAPI {
		if err := unix.SchedSetaffinity(pid, &set); err != nil {
			return fmt.Errorf("pin NAPI thread %d of %s to cpu %d: %w", pid, p.RxIf, cpu, err)
		}
		// Kernel threads are in no autogroup: at nice -20 this one gets
		// nearly all of its CPU while busy, yet other work still runs (a
		// real-time policy would starve it).
		if err := unix.Setpriority(unix.PRIO_PROCESS, pid, -20); err != nil {
			return fmt.Errorf("raise NAPI thread %d of %s: %w", pid, p.RxIf, err)
		}
	}
	return nil
}

// napiThreads finds the kernel threads named napi/<ifname>-<id>. Names
// are not unique across namespaces, so ThreadNAPI takes only new ones.
func napiThreads(ifname string) map[int]bool {
	out := map[int]bool{}
	comms, _ := filepath.Glob("/proc/[0-9]*/comm")
	for _, c := range comms {
		b, err := os.ReadFile(c)
		if err != nil || !strings.HasPrefix(string(b), "napi/"+ifname+"-") {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(c))); err == nil {
			out[pid] = true
		}
	}
	return out
}
