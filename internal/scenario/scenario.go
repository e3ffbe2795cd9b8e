// Package scenario holds the exchanges the standard lab tries against the
// example policy in rules/, shared by the end-to-end tests and the demo.
package scenario

import (
	"fmt"
	"sync"
	"time"

	"github.com/palisade-psn/palisade/internal/lab"
)

// Check is one exchange a lab host tries, and whether the policy allows it.
type Check struct {
	Host  string // key in Gateway.Orgs or Gateway.Services
	Kind  string // tcp, udp or ping
	Src   string
	Dst   string // addr:port, or an address for ping
	Allow bool
	Why   string
}

func (c Check) String() string {
	return fmt.Sprintf("%s %s %s -> %s (%s)", c.Host, c.Kind, c.Src, c.Dst, c.Why)
}

// Standard is what rules/ says about the standard lab (lab.StandardSpec).
// The spoofing check needs 198.18.1.99 on the police host: see Prepare.
var Standard = []Check{
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

// Prepare starts echo servers for every service of the example policy (and
// on an organisation host, for the unsolicited checks), and gives the
// police host a surrey address to spoof. stop ends the servers.
func Prepare(gw *lab.Gateway) (stop func(), err error) {
	var stops []func()
	stop = func() {
		for _, s := range stops {
			s()
		}
	}
	serve := func(h *lab.Host, tcp, udp []string) error {
		for _, a := range tcp {
			s, err := h.NS.ServeTCP(a)
			if err != nil {
				return err
			}
			stops = append(stops, s)
		}
		for _, a := range udp {
			s, err := h.NS.ServeUDP(a)
			if err != nil {
				return err
			}
			stops = append(stops, s)
		}
		return nil
	}
	for _, e := range []error{
		serve(gw.Services["svcA"], []string{"198.19.10.10:443", "[2001:db8:10::10]:443", "198.19.10.10:22"},
			[]string{"198.19.10.10:5005", "198.19.10.10:6000"}),
		serve(gw.Services["svcB"], []string{"198.19.20.10:80", "198.19.20.10:443", "198.19.20.20:443", "[2001:db8:20::10]:443", "198.19.20.53:53"},
			[]string{"198.19.20.53:53", "[2001:db8:20::53]:53", "198.19.20.123:123"}),
		serve(gw.Orgs["surrey"], []string{"198.18.1.10:8080"}, []string{"198.18.1.10:8081"}),
		gw.Orgs["police"].NS.Addr("eth0", "198.18.1.99/32"),
	} {
		if e != nil {
			stop()
			return nil, e
		}
	}
	return stop, nil
}

func host(g *lab.Gateway, name string) *lab.Host {
	if h := g.Orgs[name]; h != nil {
		return h
	}
	return g.Services[name]
}

// Try runs one exchange. A refused one is expected to time out, so it gets
// less time than an allowed one.
func Try(g *lab.Gateway, c Check) error {
	timeout := 2 * time.Second
	if !c.Allow {
		timeout = 700 * time.Millisecond
	}
	return TryWithin(g, c, timeout)
}

// TryWithin runs one exchange with the given timeout.
func TryWithin(g *lab.Gateway, c Check, timeout time.Duration) error {
	h := host(g, c.Host)
	if h == nil {
		return fmt.Errorf("no host %q in the lab", c.Host)
	}
	switch c.Kind {
	case "tcp":
		return h.NS.TCPExchangeFrom(c.Src, c.Dst, timeout)
	case "udp":
		return h.NS.UDPExchangeFrom(c.Src, c.Dst, timeout)
	}
	return h.NS.PingFrom(c.Src, c.Dst, timeout)
}

// Result is a check and what happened.
type Result struct {
	Check
	Err error // nil: the exchange completed
}

// OK says whether the outcome is the one the policy gives.
func (r Result) OK() bool { return (r.Err == nil) == r.Allow }

// RunAll tries every check at once.
func RunAll(g *lab.Gateway, checks []Check) []Result {
	var wg sync.WaitGroup
	out := make([]Result, len(checks))
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = Result{Check: c, Err: Try(g, c)}
		}()
	}
	wg.Wait()
	return out
}
