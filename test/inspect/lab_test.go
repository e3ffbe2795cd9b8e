// Package inspect_test runs the real agent in the standard lab and sends
// real TLS, HTTP and DNS clients through its inspected rules (rules/):
// allowed names get through, others get nothing, evasions are refused or
// decided correctly, and the agent being gone drops or passes flows as
// each rule declares.
package inspect_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/internal/agenttest"
	"github.com/palisade-psn/palisade/internal/lab"
	"github.com/palisade-psn/palisade/pkg/datapath"
)

// Addresses of the inspected services (rules/services.yaml); the lab's
// svcB host gets them from the test.
const (
	cloud4   = "198.19.20.30:443"
	cloud6   = "[2001:db8:20::30]:443"
	intranet = "198.19.20.40:80"
	resolver = "198.19.20.53:53"
	metrics  = "127.0.0.1:9469"
)

type inspectLab struct {
	gw    *lab.Gateway
	agent *agenttest.Agent
	tls   *tlsFixture
	last  string // the last metrics scraped
}

// dumpMetrics logs the last scrape's lines with one of the prefixes.
func (il *inspectLab) dumpMetrics(t *testing.T, prefixes ...string) {
	for _, line := range strings.Split(il.last, "\n") {
		for _, p := range prefixes {
			if strings.HasPrefix(line, p) {
				t.Log(line)
			}
		}
	}
}

func startInspectLab(t *testing.T, mode datapath.Mode) *inspectLab {
	t.Helper()
	bins, err := agenttest.Build()
	if err != nil {
		t.Fatal(err)
	}
	l := lab.NewT(t)
	gw, err := lab.NewGateway(l, lab.StandardSpec())
	if err != nil {
		t.Fatal(err)
	}
	svc := gw.Services["svcB"].NS
	for _, a := range []string{"198.19.20.30/24", "198.19.20.40/24", "2001:db8:20::30/64"} {
		if err := svc.Addr("eth0", a); err != nil {
			t.Fatal(err)
		}
	}
	il := &inspectLab{gw: gw, tls: newTLSFixture(t)}
	il.serve(t, svc)
	rules, _ := filepath.Abs("../../rules")
	a := agenttest.StartT(t, gw.GW, bins, agenttest.Config{
		Rules: rules, Interfaces: gw.GWIfs, Mode: mode, Forwarding: true, Metrics: metrics,
	})
	il.agent = a
	return il
}

// serve starts the services on svcB: TLS and HTTP and a DNS resolver.
func (il *inspectLab) serve(t *testing.T, svc *lab.NS) {
	t.Helper()
	for _, addr := range []string{cloud4, cloud6} {
		ln := listen(t, svc, "tcp", addr)
		go il.tls.serve(ln)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "intranet page for %s\n", r.Host)
	}), ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(listen(t, svc, "tcp", intranet))
	t.Cleanup(func() { hs.Close() })
	go serveDNSTCP(listen(t, svc, "tcp", resolver))
	var pc net.PacketConn
	if err := svc.Do(func() (err error) { pc, err = net.ListenPacket("udp", resolver); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go serveDNSUDP(pc)
}

func listen(t *testing.T, ns *lab.NS, network, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	if err := ns.Do(func() (err error) { ln, err = net.Listen(network, addr); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return countReads(ln) // what each connection's server read (talkaround_test.go)
}

// dial opens a TCP connection from src (an address of host) to dst; the
// socket is made inside the host's namespace.
func (il *inspectLab) dial(host, src, dst string, timeout time.Duration) (*net.TCPConn, error) {
	h := il.gw.Orgs[host]
	var c net.Conn
	err := h.NS.Do(func() (err error) {
		d := net.Dialer{Timeout: timeout, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		c, err = d.Dial("tcp", dst)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// scrape sums the samples of a metric whose labels contain every filter.
func (il *inspectLab) scrape(t *testing.T, name string, filters ...string) float64 {
	t.Helper()
	body, err := il.gw.GW.HTTPGet(metrics, "/metrics", 5*time.Second)
	if err != nil {
		t.Fatalf("scrape metrics: %v", err)
	}
	il.last = body
	return agenttest.SumMetric(body, name, filters...)
}

// refused says whether err is what a refused flow looks like to a client:
// nothing came back before the deadline (or the connection never opened).
func refused(err error) bool {
	var ne net.Error
	return err != nil && (errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.EOF))
}
