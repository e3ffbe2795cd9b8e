package inspect_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"golang.org/x/sys/unix"
)

// testOrgFlood: surrey-police floods SYNs to its own inspected rule (the
// resolver over TCP), more flows than the whole tracker holds. It is held
// to its own quota; surrey-cc's fail-closed flows and mole-valley-dc's
// fail-open ones are still inspected, during the flood and after it.
func testOrgFlood(t *testing.T, il *inspectLab) {
	const (
		flows = 20000 // past the tracker's 16,384
		rate  = 10000 // SYNs a second
	)
	shedBefore := il.scrape(t, "palisade_inspect_shed_total")
	start := time.Now()
	if err := il.synFlood(context.Background(), 10000, flows, rate); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d SYNs from surrey-police in %v", flows, time.Since(start).Round(time.Millisecond))

	// Another flood while the others' flows are checked.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := il.synFlood(ctx, 40000, 20000, rate); err != nil && ctx.Err() == nil {
			t.Errorf("second flood: %v", err)
		}
	}()
	il.checkOthersInspected(t, "during the flood")
	cancel()
	wg.Wait()
	il.checkOthersInspected(t, "after it")

	quota := il.scrape(t, "palisade_inspect_org_flow_quota")
	police := il.scrape(t, "palisade_inspect_org_flows", `org="surrey-police"`)
	evicted := il.scrape(t, "palisade_inspect_evictions_total", `org="surrey-police"`)
	t.Logf("surrey-police: %.0f flows tracked of a %.0f quota, %.0f of its own given way", police, quota, evicted)
	if police != quota || evicted == 0 {
		t.Errorf("surrey-police holds %.0f flows (quota %.0f), %.0f evicted; want held to its quota", police, quota, evicted)
	}
	if n := il.scrape(t, "palisade_inspect_shed_total") - shedBefore; n != 0 {
		t.Errorf("%.0f flows shed during a flood of unreplied SYNs; want its own given way instead", n)
	}
	for _, rule := range []string{cloudRule, `rule="mole-valley-dc/cloud-storage"`} {
		if n := il.scrape(t, "palisade_inspect_overload_total", rule); n != 0 {
			t.Errorf("%s: %.0f flows past the inspector uninspected", rule, n)
		}
	}
	if t.Failed() {
		il.dumpMetrics(t, "palisade_inspect_", "palisade_drops_total")
	}
}

// checkOthersInspected: both failure modes still decide by name (the
// four clients at once: a refused one waits out its deadline).
func (il *inspectLab) checkOthersInspected(t *testing.T, phase string) {
	t.Helper()
	var wg sync.WaitGroup
	for _, c := range []struct {
		what, src, sni string
		allow          bool
	}{
		{"fail-closed, allowed", "198.18.1.10", "files.cloud.psn.example", true},
		{"fail-closed, other", "198.18.1.10", "evil.example", false},
		{"fail-open, allowed", "198.18.2.10", "files.cloud.psn.example", true},
		{"fail-open, other (inspected, not passed)", "198.18.2.10", "evil.example", false},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := il.tlsExchange("surrey", c.src, cloud4, c.sni, 2, 0)
			switch {
			case c.allow && err != nil:
				t.Errorf("%s: %s: should complete: %v", phase, c.what, err)
			case !c.allow && !refused(err):
				t.Errorf("%s: %s: should get nothing back, got %v", phase, c.what, err)
			}
		}()
	}
	wg.Wait()
}

// synFlood sends n SYNs from the police host (198.18.3.10, source ports
// from port on, wrapping) to the resolver's TCP port, rate a second, in
// bursts; it stops early when ctx ends.
func (il *inspectLab) synFlood(ctx context.Context, port, n, rate int) error {
	const burst = 200
	dst := net.ParseIP("198.19.20.53").To4()
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.ParseIP("198.18.3.10").To4(), DstIP: dst}
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	return il.gw.Orgs["police"].NS.Do(func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_RAW)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		to := &unix.SockaddrInet4{}
		copy(to.Addr[:], dst)
		tick := time.NewTicker(time.Second * burst / time.Duration(rate))
		defer tick.Stop()
		for i := 0; i < n; {
			for end := min(i+burst, n); i < end; i++ {
				tcp := &layers.TCP{SrcPort: layers.TCPPort(1024 + (port+i)%64000), DstPort: 53, Seq: uint32(i), SYN: true, Window: 64240}
				tcp.SetNetworkLayerForChecksum(ip)
				buf := gopacket.NewSerializeBuffer()
				if err := gopacket.SerializeLayers(buf, opts, ip, tcp); err != nil {
					return err
				}
				if err := unix.Sendto(fd, buf.Bytes(), 0, to); err != nil {
					return err
				}
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-tick.C:
			}
		}
		return nil
	})
}
