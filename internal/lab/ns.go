package lab

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// NS is one network namespace of a lab, reachable as /run/netns/Name.
type NS struct {
	Name string
	lab  *Lab
}

// Exec runs a command inside the namespace (`ip netns exec`) and returns
// its combined output; on failure the output is also in the error.
func (n *NS) Exec(ctx context.Context, name string, args ...string) ([]byte, error) {
	return run(ctx, "ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// ip runs `ip -n NAME args...`, which is cheaper than `ip netns exec`.
func (n *NS) ip(args ...string) error {
	_, err := run(context.Background(), "ip", append([]string{"-n", n.Name}, args...)...)
	return err
}

// Addr adds an address (CIDR) to ifname. IPv6 addresses skip duplicate
// address detection so they are usable at once instead of ~1s later.
func (n *NS) Addr(ifname, cidr string) error {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return fmt.Errorf("address %q for %s in %s: %w", cidr, ifname, n.Name, err)
	}
	if !inLabRange(p.Addr()) {
		return fmt.Errorf("address %s for %s in %s: outside the lab ranges %v", cidr, ifname, n.Name, labRanges)
	}
	args := []string{"addr", "add", cidr, "dev", ifname}
	if p.Addr().Is6() {
		args = append(args, "nodad")
	}
	if err := n.ip(args...); err != nil {
		return fmt.Errorf("add %s to %s in %s: %w", cidr, ifname, n.Name, err)
	}
	return nil
}

// Route adds a route to dst (a CIDR or "default") via a gateway address.
func (n *NS) Route(dst, via string) error {
	return n.route("main", dst, via)
}

// route adds a route in a routing table; the family comes from via, so
// "default" works for both IPv4 and IPv6.
func (n *NS) route(table, dst, via string) error {
	gw, err := netip.ParseAddr(via)
	if err != nil {
		return fmt.Errorf("route %s via %q in %s: %w", dst, via, n.Name, err)
	}
	if !inLabRange(gw) || (dst != "default" && !prefixInLab(dst)) {
		return fmt.Errorf("route %s via %s in %s: outside the lab ranges %v", dst, via, n.Name, labRanges)
	}
	if err := n.ip(family(gw), "route", "add", dst, "via", via, "table", table); err != nil {
		return fmt.Errorf("route %s via %s (table %s) in %s: %w", dst, via, table, n.Name, err)
	}
	return nil
}

// rule sends traffic from a source prefix to a routing table, so a host
// with several interfaces answers and originates on the right one.
func (n *NS) rule(from string, table int) error {
	p, err := netip.ParsePrefix(from)
	if err != nil {
		return fmt.Errorf("rule from %q in %s: %w", from, n.Name, err)
	}
	from = p.Masked().String()
	if err := n.ip(family(p.Addr()), "rule", "add", "from", from, "table", strconv.Itoa(table)); err != nil {
		return fmt.Errorf("rule from %s table %d in %s: %w", from, table, n.Name, err)
	}
	return nil
}

// labRanges are the only addresses a lab may use (RFC 2544 benchmarking
// and RFC 3849 documentation space), so it can never reach a real network.
var labRanges = []netip.Prefix{netip.MustParsePrefix("198.18.0.0/15"), netip.MustParsePrefix("2001:db8::/32")}

func inLabRange(a netip.Addr) bool {
	for _, r := range labRanges {
		if r.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

func prefixInLab(cidr string) bool {
	p, err := netip.ParsePrefix(cidr)
	return err == nil && inLabRange(p.Addr())
}

func family(a netip.Addr) string {
	if a.Is4() {
		return "-4"
	}
	return "-6"
}

// Sysctl sets a sysctl inside the namespace. The key may use dots or
// slashes; use slashes when an interface name itself has a dot.
func (n *NS) Sysctl(key, value string) error {
	path := filepath.Join("/proc/sys", key)
	if !strings.Contains(key, "/") {
		path = filepath.Join("/proc/sys", strings.ReplaceAll(key, ".", "/"))
	}
	// /proc/sys/net shows the namespace of the thread that opens it, so the
	// write is done from inside the namespace rather than by a child process.
	return n.Do(func() error {
		if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
			return fmt.Errorf("sysctl %s=%s in %s: %w", key, value, n.Name, err)
		}
		return nil
	})
}

// Ifindex returns the index of ifname inside the namespace.
func (n *NS) Ifindex(ifname string) (int, error) {
	ifi, err := n.iface(ifname)
	if err != nil {
		return 0, err
	}
	return ifi.Index, nil
}

// iface looks ifname up inside the namespace.
func (n *NS) iface(ifname string) (*net.Interface, error) {
	var ifi *net.Interface
	err := n.Do(func() (err error) {
		if ifi, err = net.InterfaceByName(ifname); err != nil {
			return fmt.Errorf("interface %s in %s: %w", ifname, n.Name, err)
		}
		return nil
	})
	return ifi, err
}
