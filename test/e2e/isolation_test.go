package e2e

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/internal/lab"
)

// TestIsolation is issue 17's first three lab cases, with real TCP through
// the kernel's sockets: quiet holds an idle connection to the exchange
// service and flood another, then flood sends ten times the flow table in
// SYNs to the service port it is allowed to reach. The flood is refused at
// flood's quota and counted; quiet's idle connection and flood's own still
// carry data both ways, and quiet opens new connections during the flood
// and after it.
//
// Before 73ce6a7 the flow table was one LRU shared by all: the flood's
// 40,960 new flows pushed every older flow out of its 4,096 entries, so
// the next segment on quiet's idle connection found no flow and was
// dropped as no_flow, and this test failed at its first echo after the
// flood (as issue 17 reports).
func TestIsolation(t *testing.T) {
	const (
		flowTable = 4096
		quota     = flowTable / 2 // the fair share of each of the two organisations
		flood     = 10 * flowTable
		rate      = 4000 // SYNs a second: about 10 s, far below any line rate
	)
	s := startIsolationLab(t, flowTable)
	svc := netip.MustParseAddrPort("198.19.10.10:443")
	quiet, flooder := s.gw.Orgs["quiet"].NS, s.gw.Orgs["flood"].NS
	quietIdle := openEchoed(t, quiet, "198.18.1.10", svc)
	floodOwn := openEchoed(t, flooder, "198.18.3.10", svc)

	// From an address of flood's prefix that no host holds: the service's
	// SYN-ACKs are answered by nobody, so no RST ends a flood flow early
	// and each one admitted holds its place in flood's quota to the end.
	floodSrc := netip.MustParseAddrPort("198.18.3.200:20000")
	frames := s.synFlood(t, "flood", floodSrc, svc, flood)
	before := s.status(t)
	start := time.Now()
	sent := s.flood(t, frames, rate, func() { openEchoed(t, quiet, "198.18.1.10", svc) })
	took := time.Since(start)
	time.Sleep(200 * time.Millisecond) // the last SYN-ACKs come back

	if err := echo(quietIdle, 2*time.Second); err != nil {
		t.Errorf("quiet's idle connection after the flood: %v", err)
	}
	if err := echo(floodOwn, 2*time.Second); err != nil {
		t.Errorf("flood's own connection after its flood: %v", err)
	}
	openEchoed(t, quiet, "198.18.1.10", svc)

	after := s.status(t)
	rose := func(reason string) float64 {
		return counter(after, "drops", reason) - max(counter(before, "drops", reason), 0)
	}
	reached := s.svcCap.Count(synFrom(floodSrc.Addr()))
	t.Logf("flood: %d SYNs in %v; refused as flow_quota: %v; reached the service: %d (flood's quota %d, one held by its own connection)",
		sent, took.Round(time.Millisecond), rose("flow_quota"), reached, quota)
	// Every flood SYN past flood's quota is refused: flood - quota + 1, as
	// flood's own connection holds one place, less one for each CPU that
	// may open a flow at once past the quota.
	least := float64(flood - quota - runtime.NumCPU())
	if got := rose("flow_quota"); got < least {
		t.Errorf("drops flow_quota rose by %v, want at least %v (flood %d - quota %d - CPUs)", got, least, flood, quota)
	}
	if reached > quota+runtime.NumCPU() {
		t.Errorf("%d flood SYNs reached the service, more than flood's quota of %d", reached, quota)
	}
	// Refused as flood's, and only flood's.
	orgRose := func(org string) float64 {
		return counter(after, "organisations", org, "drop") - max(counter(before, "organisations", org, "drop"), 0)
	}
	if got := orgRose("flood"); got < least {
		t.Errorf("flood's drops rose by %v, want at least %v", got, least)
	}
	if got := orgRose("quiet"); got != 0 {
		t.Errorf("quiet's drops rose by %v during flood's flood, want 0", got)
	}
	if got := rose("no_flow"); got != 0 {
		t.Errorf("drops no_flow rose by %v during the flood, want 0: a flow was lost", got)
	}
}

// flood sends frames from flood's link at rate a second and, once half
// are out, runs during on the test's goroutine. It returns how many went
// out. It fails the test if the flood takes twice as long as it should:
// the service's echo server ends a connection 30 s after accepting it, and
// the connections held through the flood would end with it. The sender
// stops when the test ends, however it ends, before the lab is removed.
func (s *isolationLab) flood(t *testing.T, frames [][]byte, rate int, during func()) (sent int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Duration(len(frames))*time.Second/time.Duration(rate))
	half, done := make(chan struct{}), make(chan struct{})
	var once sync.Once
	var sendErr error
	go func() {
		defer close(done)
		sent, sendErr = s.send(ctx, "flood", frames, rate, func(n int) {
			if n >= len(frames)/2 {
				once.Do(func() { close(half) })
			}
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-half:
		during()
	case <-done:
	}
	<-done
	cancel()
	if sendErr != nil {
		t.Fatalf("flood stopped after %d of %d SYNs: %v", sent, len(frames), sendErr)
	}
	return sent
}

// openEchoed opens a TCP connection from src to dst in ns and echoes once
// on it, so the gateway holds its flow, answered.
func openEchoed(t *testing.T, ns *lab.NS, src string, dst netip.AddrPort) net.Conn {
	t.Helper()
	c := dialIn(t, ns, "tcp", src, dst.String())
	if err := echo(c, 2*time.Second); err != nil {
		t.Fatalf("echo on a new connection %s -> %s: %v", src, dst, err)
	}
	return c
}

// synFrom matches untagged IPv4 frames carrying a TCP SYN (no ACK) from src.
func synFrom(src netip.Addr) func([]byte) bool {
	want := src.As4()
	return func(f []byte) bool {
		if len(f) < 14+20+14 || binary.BigEndian.Uint16(f[12:14]) != 0x0800 || f[14+9] != 6 {
			return false
		}
		ihl := int(f[14]&0x0f) * 4
		return [4]byte(f[14+12:14+16]) == want && len(f) >= 14+ihl+14 && f[14+ihl+13]&0x12 == 0x02
	}
}
