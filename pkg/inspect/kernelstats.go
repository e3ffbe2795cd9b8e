package inspect

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// kernelStats reads, at scrape time, what the kernel counted on the way
// to the inspector: per queue, packets it dropped because the queue was
// full or could not be sent to the agent; per failure mode, marked packets
// that met the queue rules. Marked packets the inspector never saw were
// dropped (fail-closed) or bypassed it (fail-open).
type kernelStats struct{ q Queues }

var (
	queueDropsDesc = prometheus.NewDesc("palisade_inspect_queue_drops_total",
		"Packets the kernel dropped on an inspection queue, by queue and cause (full: queue overflow; user: could not be sent to the agent).",
		[]string{"queue", "cause"}, nil)
	markedDesc = prometheus.NewDesc("palisade_inspect_marked_packets_total",
		"Marked (inspected) packets that met the netfilter queue rules, by IP family and failure mode; those the inspector did not receive were dropped (closed) or bypassed it (open).",
		[]string{"family", "fail"}, nil)
)

var _ prometheus.Collector = kernelStats{}

func (k kernelStats) Describe(ch chan<- *prometheus.Desc) {
	ch <- queueDropsDesc
	ch <- markedDesc
}

func (k kernelStats) Collect(ch chan<- prometheus.Metric) {
	lo, hi := k.q.First, k.q.First+2*k.q.N-1
	for num, d := range queueDrops() {
		if num < lo || num > hi {
			continue
		}
		q := strconv.Itoa(int(num))
		ch <- prometheus.MustNewConstMetric(queueDropsDesc, prometheus.CounterValue, float64(d[0]), q, "full")
		ch <- prometheus.MustNewConstMetric(queueDropsDesc, prometheus.CounterValue, float64(d[1]), q, "user")
	}
	for _, fam := range families {
		closed, open := ruleCounters(fam)
		ch <- prometheus.MustNewConstMetric(markedDesc, prometheus.CounterValue, float64(closed), fam, "closed")
		ch <- prometheus.MustNewConstMetric(markedDesc, prometheus.CounterValue, float64(open), fam, "open")
	}
}

// queueDrops parses /proc/net/netfilter/nfnetlink_queue (of this network
// namespace): queue, portid, waiting, copy mode, copy range, queue_dropped,
// user_dropped, last id, 1.
func queueDrops() map[uint16][2]uint64 {
	out := map[uint16][2]uint64{}
	f, err := os.Open("/proc/net/netfilter/nfnetlink_queue")
	if err != nil {
		return out
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 7 {
			continue
		}
		num, e1 := strconv.ParseUint(fs[0], 10, 16)
		full, e2 := strconv.ParseUint(fs[5], 10, 64)
		user, e3 := strconv.ParseUint(fs[6], 10, 64)
		if e1 == nil && e2 == nil && e3 == nil {
			out[uint16(num)] = [2]uint64{full, user}
		}
	}
	return out
}

// ruleCounters reads the packet counters of the chain's rules.
func ruleCounters(fam string) (closed, open uint64) {
	out, err := exec.CommandContext(context.Background(), fam, "-w", "-t", nfTable, "-L", Chain, "-n", "-v", "-x").Output()
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(out), "\n") {
		fs := strings.Fields(line)
		if len(fs) < 2 {
			continue
		}
		n, err := strconv.ParseUint(fs[0], 10, 64)
		if err != nil {
			continue
		}
		switch {
		case strings.Contains(line, fmt.Sprintf("mark match %#x", markInspect|markFailOpen)):
			open += n
		case strings.Contains(line, fmt.Sprintf("mark match %#x", markInspect)):
			closed += n // the re-marking rule, or the stopped chain's drop
		}
	}
	return closed, open
}
