// Package applycost measures what it takes to put a large policy in force:
// compiling it, publishing it into the datapath's maps, and the memory all
// of the datapath's maps then hold.
package applycost

import (
	"fmt"
	"reflect"
	"time"

	"github.com/cilium/ebpf"
	"github.com/palisade-psn/palisade/bench/internal/progcost"
	"github.com/palisade-psn/palisade/bench/internal/results"
	"github.com/palisade-psn/palisade/bench/internal/stats"
	"github.com/palisade-psn/palisade/bench/internal/synth"
	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/policy"
)

// Measure compiles a synthetic policy of n rules runs times (the figure is
// the median), then publishes it into a private datapath twice: the first
// publish fills empty maps, the second the other generation, clearing it
// first, as every later apply does.
func Measure(n, runs int) (*results.Apply, error) {
	p := synth.Generate(n).Policy("lo")
	var c *policy.Compiled
	var ms []float64
	for i := 0; i < runs; i++ {
		start := time.Now()
		c = policy.Compile(p)
		ms = append(ms, millis(time.Since(start)))
	}
	a := &results.Apply{Orgs: synth.Orgs, Rules: n, CompileMs: stats.Median(ms)}
	pin := progcost.PinDir()
	defer datapath.Clean(pin) // also when the load fails half way
	dp, err := datapath.Open(datapath.Options{PinPath: pin})
	if err != nil {
		return nil, fmt.Errorf("open datapath: %w", err)
	}
	defer dp.Close()
	if err := publishTwice(dp, c, a); err != nil {
		return nil, err
	}
	if err := readCounters(dp, a); err != nil {
		return nil, err
	}
	if err := mapMemory(dp.Maps(), a); err != nil {
		return nil, err
	}
	return a, nil
}

// readCounters times reading every rule's and organisation's counters,
// what a metrics scrape (and palisade top) reads from the maps.
func readCounters(dp *datapath.Datapath, a *results.Apply) error {
	start := time.Now()
	rules, err := dp.Counters().RuleCounts()
	if err != nil {
		return err
	}
	if _, err := dp.Counters().OrgCounts(); err != nil {
		return err
	}
	a.CountersMs = millis(time.Since(start))
	if len(rules) != a.Rules {
		return fmt.Errorf("read %d rule counters, the policy has %d rules", len(rules), a.Rules)
	}
	return nil
}

// graceWait outlasts the datapath's wait between two flips, which would
// otherwise be timed as part of the second publish.
const graceWait = 200 * time.Millisecond

func publishTwice(dp *datapath.Datapath, c *policy.Compiled, a *results.Apply) error {
	start := time.Now()
	res, err := dp.Publish(c, nil)
	if err != nil {
		return fmt.Errorf("first publish: %w", err)
	}
	a.PublishMs, a.Entries = millis(time.Since(start)), res.Entries
	time.Sleep(graceWait)
	start = time.Now()
	if _, err := dp.Publish(c, nil); err != nil {
		return fmt.Errorf("second publish: %w", err)
	}
	a.RepublishMs = millis(time.Since(start))
	return nil
}

// mapMemory sums the kernel's memlock figure (what bpftool map show
// prints) over every map of the datapath, found by reflection so that a
// map added to the datapath is counted without a change here.
func mapMemory(maps *datapath.BoundaryMaps, a *results.Apply) error {
	v := reflect.ValueOf(maps).Elem()
	for i := 0; i < v.NumField(); i++ {
		m, ok := v.Field(i).Interface().(*ebpf.Map)
		if !ok || m == nil {
			continue
		}
		info, err := m.Info()
		if err != nil {
			return fmt.Errorf("map %s info: %w", v.Type().Field(i).Name, err)
		}
		bytes, _ := info.Memlock()
		a.Maps = append(a.Maps, results.MapMemory{
			Name: info.Name, Type: m.Type().String(), MaxEntries: m.MaxEntries(), Bytes: bytes,
		})
		a.MapBytes += bytes
	}
	return nil
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
