package e2e

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/internal/lab"
	"github.com/palisade-psn/palisade/pkg/datapath"
)

// check is one exchange a host tries, and whether the policy allows it.
type check struct {
	host  string // key in Gateway.Orgs or Gateway.Services
	kind  string // tcp, udp or ping
	src   string
	dst   string // addr:port, or an address for ping
	allow bool
	why   string
}

func (c check) String() string {
	return fmt.Sprintf("%s %s %s -> %s (%s)", c.host, c.kind, c.src, c.dst, c.why)
}

// policyChecks is what rules/ says about the standard lab.
var policyChecks = []check{
	{"surrey", "tcp", "198.18.1.10", "198.19.10.10:443", true, "surrey-cc: dwp-benefits"},
	{"surrey", "tcp", "2001:db8:1::10", "[2001:db8:10::10]:443", true, "surrey-cc: dwp-benefits over IPv6"},
	{"surrey", "tcp", "198.18.1.10", "198.19.10.10:22", false, "no rule for ssh"},
	{"surrey", "ping", "198.18.1.10", "198.19.10.10", true, "surrey-cc: ping-services"},
	{"surrey", "ping", "2001:db8:1::10", "2001:db8:10::10", true, "surrey-cc: ping-services over IPv6"},
	{"surrey", "udp", "198.18.1.10", "198.19.20.53:53", true, "surrey-cc: psn-dns"},
	{"surrey", "udp", "2001:db8:1::10", "[2001:db8:20::53]:53", true, "surrey-cc: psn-dns over IPv6"},
	{"surrey", "udp", "198.18.1.10", "198.19.20.123:123", true, "surrey-cc: ntp"},
	{"surrey", "udp", "198.18.1.10", "198.19.10.10:5005", false, "pnc is the police's"},
	{"surrey", "tcp", "198.18.2.10", "198.19.10.10:443", true, "mole-valley-dc shares surrey's IT: dwp-benefits"},
	{"surrey", "udp", "198.18.2.10", "198.19.20.123:123", false, "mole-valley-dc has no ntp rule"},
	{"surrey", "ping", "198.18.2.10", "198.19.10.10", false, "mole-valley-dc has no ping rule"},
	{"police", "udp", "198.18.3.10", "198.19.10.10:5005", true, "surrey-police: pnc-udp"},
	{"police", "udp", "198.18.3.10", "198.19.10.10:6000", false, "outside pnc's port range"},
	{"police", "tcp", "198.18.3.10", "198.19.10.10:443", false, "surrey-police has no dwp-benefits"},
	{"police", "ping", "198.18.3.10", "198.19.10.10", true, "surrey-police: ping-services"},
	{"police", "tcp", "198.18.3.10", "198.19.20.10:80", true, "surrey-police: patch-mirror"},
	{"nhs", "tcp", "198.18.4.10", "198.19.20.10:443", true, "nhs-trust on vlan 300: patch-mirror"},
	{"nhs", "tcp", "198.18.4.10", "198.19.10.10:443", false, "nhs-trust has no dwp-benefits"},
	{"elmbridge", "tcp", "198.18.5.10", "198.19.20.10:443", true, "suspended elmbridge-bc keeps patch-mirror"},
	{"elmbridge", "tcp", "198.18.5.10", "198.19.20.20:443", true, "suspended elmbridge-bc keeps compliance-portal"},
	{"elmbridge", "udp", "198.18.5.10", "198.19.20.53:53", true, "suspended elmbridge-bc keeps psn-dns"},
	{"elmbridge", "tcp", "198.18.5.10", "198.19.10.10:443", false, "suspended elmbridge-bc loses dwp-benefits"},
	{"police", "tcp", "198.18.1.99", "198.19.10.10:443", false, "surrey's address sent from the police's interface: spoofed"},
	{"svcA", "tcp", "198.19.10.10", "198.18.1.10:8080", false, "unsolicited from the service side"},
	{"svcA", "udp", "198.19.10.10", "198.18.1.10:8081", false, "unsolicited datagram from the service side"},
	{"svcA", "ping", "198.19.10.10", "198.18.1.10", false, "unsolicited ping from the service side"},
}

func host(g *lab.Gateway, name string) *lab.Host {
	if h := g.Orgs[name]; h != nil {
		return h
	}
	return g.Services[name]
}

// try runs one exchange; a refused one is expected to time out.
func try(g *lab.Gateway, c check) error {
	timeout := 2 * time.Second
	if !c.allow {
		timeout = 700 * time.Millisecond
	}
	return tryWithin(g, c, timeout)
}

func tryWithin(g *lab.Gateway, c check, timeout time.Duration) error {
	h := host(g, c.host)
	if h == nil {
		return fmt.Errorf("no host %q in the lab", c.host)
	}
	switch c.kind {
	case "tcp":
		return h.NS.TCPExchangeFrom(c.src, c.dst, timeout)
	case "udp":
		return h.NS.UDPExchangeFrom(c.src, c.dst, timeout)
	}
	return h.NS.PingFrom(c.src, c.dst, timeout)
}

// runChecks tries every check at once and reports each that disagrees.
func runChecks(t *testing.T, g *lab.Gateway, checks []check) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(checks))
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = try(g, c)
		}()
	}
	wg.Wait()
	for i, c := range checks {
		switch {
		case c.allow && errs[i] != nil:
			t.Errorf("%v: should pass, failed: %v", c, errs[i])
		case !c.allow && errs[i] == nil:
			t.Errorf("%v: should be refused, got through", c)
		}
	}
}

func TestPolicyNative(t *testing.T)  { testPolicy(t, datapath.Native) }
func TestPolicyGeneric(t *testing.T) { testPolicy(t, datapath.Generic) }

func testPolicy(t *testing.T, mode datapath.Mode) {
	g := startLab(t, mode)
	if err := g.gw.Orgs["police"].NS.Addr("eth0", "198.18.1.99/32"); err != nil {
		t.Fatal(err)
	}
	runChecks(t, g.gw, policyChecks)
	st := g.status(t)
	for _, want := range []struct {
		path []string
		what string
	}{
		{[]string{"organisations", "surrey-cc", "allow"}, "surrey-cc allowed packets"},
		{[]string{"organisations", "elmbridge-bc", "drop"}, "elmbridge-bc dropped packets"},
		{[]string{"drops", "suspended"}, "drops of a suspended organisation"},
		{[]string{"drops", "no_rule"}, "drops for no rule"},
		{[]string{"drops", "spoofed_source"}, "drops of a spoofed source"},
		{[]string{"drops", "no_flow"}, "drops of unsolicited packets"},
		{[]string{"forwarded", "xdp"}, "allowed packets forwarded in XDP"},
	} {
		if n := counter(st, want.path...); n <= 0 {
			t.Errorf("%s: counter %v = %v, want > 0", want.what, want.path, n)
		}
	}
}
