package e2e

import (
	"context"
	"maps"
	"math"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/internal/lab"
)

// TestRateLimit is issue 17's last lab case: a rate-limited organisation
// gets its configured rate, and the others are untouched. In the isolation
// lab, flood is given a limit by an apply, then flood and quiet each send
// five times that limit for four seconds at once, from addresses of their
// own prefixes that no host holds: first SYNs to the service's TCP port
// under new_flows_per_second, then one UDP flow's datagrams to a sink that
// never answers under packets_per_second (so nothing but flood's requests
// draws on its packet budget). What reaches the service of flood's is its
// limit for each second it sent plus one second's worth of burst; the rest
// is dropped as rate_limited, and all of quiet's arrives.
func TestRateLimit(t *testing.T) {
	s := startIsolationLab(t, 4096)
	svc := s.gw.Services["svc"]
	udpSink(t, svc.NS, "198.19.10.10:443")
	dst := netip.MustParseAddr("198.19.10.10")
	src := map[string]netip.Addr{"flood": netip.MustParseAddr("198.18.3.200"), "quiet": netip.MustParseAddr("198.18.1.200")}

	s.rateLimited(t, ratePhase{
		name: "new flows", limits: "{new_flows_per_second: 50}", limit: 50,
		frames: func(host string, n int) [][]byte {
			return s.synFlood(t, host, netip.AddrPortFrom(src[host], 20000), netip.AddrPortFrom(dst, 443), n)
		},
		arrived: func(host string) func([]byte) bool { return synFrom(src[host]) },
	})
	s.rateLimited(t, ratePhase{
		name: "packets", limits: "{packets_per_second: 500}", limit: 500,
		frames: func(host string, n int) [][]byte {
			f := s.wire(t, host).udp(t, netip.AddrPortFrom(src[host], 20000), netip.AddrPortFrom(dst, 443), []byte("rate limit "+host))
			frames := make([][]byte, n)
			for i := range frames {
				frames[i] = f
			}
			return frames
		},
		arrived: func(host string) func([]byte) bool { return lab.Carrying([]byte("rate limit " + host)) },
	})
}

// ratePhase is one limit put on flood and checked: its limits in flood's
// rule file, the limit in units a second, the frames each host sends (n of
// them) and what each host's look like at the service.
type ratePhase struct {
	name, limits string
	limit        int
	frames       func(host string, n int) [][]byte
	arrived      func(host string) func([]byte) bool
}

const (
	rateOver = 5               // each host sends this many times flood's limit
	rateFor  = 4 * time.Second // for this long
)

// rateLimitRules are the isolation rules with UDP to the service allowed
// too, and flood limited by limits.
func rateLimitRules(limits string) map[string]string {
	r := maps.Clone(isolationRules)
	r["services.yaml"] = strings.Replace(r["services.yaml"], `["443/tcp"]`, `["443/tcp", "443/udp"]`, 1)
	r["organisations/flood.yaml"] += "limits: " + limits + "\n"
	return r
}

// rateLimited applies p's limits to flood and has flood and quiet send at
// once at rateOver times the limit for rateFor, then checks what arrived.
func (s *isolationLab) rateLimited(t *testing.T, p ratePhase) {
	t.Helper()
	s.cli(t, "apply", writeRules(t, rateLimitRules(p.limits)))
	svc := s.gw.Services["svc"]
	c, err := svc.NS.Capture(svc.If)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	rate := rateOver * p.limit
	n := int(rateFor.Seconds()) * rate
	frames := map[string][][]byte{"flood": p.frames("flood", n), "quiet": p.frames("quiet", n)}
	before := s.status(t)
	out := s.sendAll(t, frames, rate)
	time.Sleep(200 * time.Millisecond) // the last frames cross the gateway
	c.Close()
	after := s.status(t)
	rose := func(path ...string) float64 { return counter(after, path...) - max(counter(before, path...), 0) }

	fl, q := out["flood"], out["quiet"]
	reached, quietReached := c.Count(p.arrived("flood")), c.Count(p.arrived("quiet"))
	// GCRA with a second's worth of burst: a full bucket, then the limit
	// for each second from the first frame to the last.
	want := float64(p.limit) * (1 + fl.span.Seconds())
	tol := rateTolerance(p.limit, want)
	t.Logf("%s: flood sent %d in %v, %d reached the service (want %.0f ±%.0f, off by %+.1f%%), rate_limited rose by %v; quiet sent %d, %d reached",
		p.name, fl.sent, fl.span.Round(time.Millisecond), reached, want, tol, 100*(float64(reached)-want)/want, rose("drops", "rate_limited"), q.sent, quietReached)
	if math.Abs(float64(reached)-want) > tol {
		t.Errorf("%s: %d of flood's reached the service, want %.0f ±%.0f (%d a second for %v, and a second's burst)",
			p.name, reached, want, tol, p.limit, fl.span.Round(time.Millisecond))
	}
	if got, refused := rose("drops", "rate_limited"), float64(fl.sent-reached); got != refused {
		t.Errorf("%s: drops rate_limited rose by %v, want the %v of flood's that did not reach the service", p.name, got, refused)
	}
	if got := rose("organisations", "flood", "drop"); got != float64(fl.sent-reached) {
		t.Errorf("%s: flood's drops rose by %v, want %d", p.name, got, fl.sent-reached)
	}
	if quietReached != q.sent {
		t.Errorf("%s: %d of quiet's %d reached the service during flood's limit, want all", p.name, quietReached, q.sent)
	}
	if got := rose("organisations", "quiet", "drop"); got != 0 {
		t.Errorf("%s: quiet's drops rose by %v, want 0", p.name, got)
	}
}

// rateTolerance is how far from want (units at limit a second) an
// arrival count may be. The bucket is exact across CPUs; what blurs it is
// the clock: the program reads bpf_ktime_get_coarse_ns, up to a tick
// behind (10 ms at HZ=100), at both ends of the span, and the sender times
// the span, not the program. Measured (2 CPUs, HZ=250, nine runs, three of
// them beside two busy loops): never more than 2 units off, 0.2%, for 249
// of 250 flows and 2494 to 2496 of 2495 packets. So 2% plus two ticks'
// worth plus one (±7 flows, ±61 packets): ten times what was seen, and
// still far inside what a broken bucket gives (no burst: -20%; a bucket
// per CPU: up to twice the limit).
func rateTolerance(limit int, want float64) float64 {
	const tick = 10 * time.Millisecond
	return 0.02*want + 2*float64(limit)*tick.Seconds() + 1
}

// sendRun is what one sender did: how many frames went out, and the time
// from its first burst to its last.
type sendRun struct {
	sent int
	span time.Duration
}

// sendAll sends each host's frames from its link at perSecond, all hosts
// at once, and returns when all are out. It fails the test if that takes
// twice as long as it should.
func (s *isolationLab) sendAll(t *testing.T, frames map[string][][]byte, perSecond int) map[string]sendRun {
	t.Helper()
	longest := 0
	for _, f := range frames {
		longest = max(longest, len(f))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Duration(longest)*time.Second/time.Duration(perSecond))
	defer cancel()
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		out  = map[string]sendRun{}
		errs = map[string]error{}
	)
	for host, f := range frames {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var first, last time.Time
			n, err := s.send(ctx, host, f, perSecond, func(n int) {
				if n > 0 && first.IsZero() {
					first = time.Now()
				}
				last = time.Now()
			})
			mu.Lock()
			defer mu.Unlock()
			out[host], errs[host] = sendRun{sent: n, span: last.Sub(first)}, err
		}()
	}
	wg.Wait()
	for host, err := range errs {
		if err != nil {
			t.Fatalf("%s stopped after %d of %d frames: %v", host, out[host].sent, len(frames[host]), err)
		}
	}
	return out
}

// udpSink holds addr open in ns and never reads it, so datagrams to it
// are taken and dropped silently: no reply and no port unreachable.
func udpSink(t *testing.T, ns *lab.NS, addr string) {
	t.Helper()
	var pc net.PacketConn
	if err := ns.Do(func() (err error) { pc, err = net.ListenPacket("udp4", addr); return err }); err != nil {
		t.Fatalf("udp sink on %s: %v", addr, err)
	}
	t.Cleanup(func() { pc.Close() })
}
