package e2e

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/internal/scenario"
)

// atomicProbes are exchanges tried continuously while the policy flips
// between A and B. Those both versions refuse must never pass, those both
// allow must never fail; those that differ may do either, and are there so
// that the flips are seen to take effect.
var atomicProbes = []struct {
	check      scenario.Check
	allowA     bool
	allowB     bool
	inBothWays bool
}{
	{probe("police", "udp", "198.18.3.10", "198.19.10.10:5005", true), true, false, false},
	{probe("police", "udp", "198.18.3.10", "198.19.20.123:123", true), false, true, false},
	{probe("police", "tcp", "198.18.3.10", "198.19.20.10:80", true), true, true, true},
	{probe("surrey", "tcp", "198.18.1.10", "198.19.10.10:443", true), true, true, true},
	{probe("police", "tcp", "198.18.3.10", "198.19.10.10:443", false), false, false, true},
	{probe("surrey", "udp", "198.18.2.10", "198.19.20.123:123", false), false, false, true},
	{probe("elmbridge", "tcp", "198.18.5.10", "198.19.10.10:443", false), false, false, true},
	{probe("surrey", "tcp", "198.18.1.10", "198.19.10.10:22", false), false, false, true},
}

// A UDP probe tries three times within its 500 ms, each try decided anew;
// where an apply takes ~100 ms, a version lasts less than that, and a probe
// that one version refuses gets through on a try that falls in the other.
// So in every 40 applies each version is held once for longer than a whole
// probe, for the probes that differ to show the flips.
const flipHold = time.Second

func holdsVersion(i int) bool { return i%40 == 0 || i%40 == 21 } // B, then A

// TestApplyIsAtomic applies two policy versions back and forth under
// continuous traffic: no exchange gets a verdict neither version gives.
func TestApplyIsAtomic(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces and BPF")
	}
	a, b := rulesVariant(t, nil), rulesVariant(t, policyB)
	g := startLabRules(t, a, "", "watch_rules: false\n")
	applies := 200
	if testing.Short() {
		applies = 20
	}
	var (
		done    atomic.Bool
		wg      sync.WaitGroup
		mu      sync.Mutex
		tally   = make([][2]int, len(atomicProbes)) // [passed, failed]
		wrong   []string
		horizon = time.Now().Add(4 * time.Minute)
	)
	for i, p := range atomicProbes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			timeout := 500 * time.Millisecond
			if p.allowA && p.allowB {
				timeout = 3 * time.Second
			}
			for n := 0; n < 100000 && !done.Load() && time.Now().Before(horizon); n++ {
				err := scenario.TryWithin(g.gw, p.check, timeout)
				mu.Lock()
				if err == nil {
					tally[i][0]++
				} else {
					tally[i][1]++
				}
				if p.inBothWays && (err == nil) != p.allowA {
					wrong = append(wrong, fmt.Sprintf("%s: passed=%v (%v)", p.check, err == nil, err))
				}
				mu.Unlock()
			}
		}()
	}
	start, held := time.Now(), time.Duration(0)
	for i := 0; i < applies && time.Now().Before(horizon); i++ {
		dir := b
		if i%2 == 1 {
			dir = a
		}
		if out, err := g.agent.CLI("apply", dir); err != nil {
			done.Store(true)
			wg.Wait()
			t.Fatalf("apply %d: %v\n%s", i, err, out)
		}
		if holdsVersion(i) {
			time.Sleep(flipHold)
			held += flipHold
		}
	}
	took := time.Since(start) - held
	done.Store(true)
	wg.Wait()
	t.Logf("%d applies in %v (%v each, CLI to published)", applies, took, took/time.Duration(applies))
	for i, p := range atomicProbes {
		t.Logf("%-60s passed %4d failed %4d", p.check, tally[i][0], tally[i][1])
	}
	for _, w := range wrong {
		t.Errorf("verdict neither version gives: %s", w)
	}
	for i, p := range atomicProbes[:2] {
		if !testing.Short() && (tally[i][0] == 0 || tally[i][1] == 0) {
			t.Errorf("%s passed %d and failed %d times: the flips did not show", p.check, tally[i][0], tally[i][1])
		}
	}
}
