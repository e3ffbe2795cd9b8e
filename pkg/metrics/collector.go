// Package metrics exports the datapath's counters to Prometheus. The
// collector reads the per-CPU maps at scrape time: no polling loop, and a
// scrape always sees the kernel's current figures.
package metrics

import (
	"log/slog"
	"strconv"

	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/prometheus/client_golang/prometheus"
)

// Source is what the collector reads: the datapath's counters and the
// digests of the policy in force.
type Source interface {
	Counters() *datapath.Counters
	// PolicyInfo is the active generation, the policy digest (the rules',
	// as `palisade validate` prints it) and the state digest (with the
	// runtime narrowing the datapath holds).
	PolicyInfo() (generation uint32, policyDigest, stateDigest string)
	FlowUse() (map[string]datapath.FlowUse, error) // by organisation id
}

// Collector is a prometheus.Collector over a Source.
type Collector struct {
	src       Source
	log       *slog.Logger
	evictions monotonic
}

var _ prometheus.Collector = (*Collector)(nil)

var (
	packetsDesc = prometheus.NewDesc("palisade_packets_total",
		"Packets seen by the boundary, by organisation and verdict (organisation \"\" = not attributable).",
		[]string{"org", "verdict"}, nil)
	bytesDesc = prometheus.NewDesc("palisade_bytes_total",
		"Bytes seen by the boundary, by organisation and verdict.",
		[]string{"org", "verdict"}, nil)
	dropsDesc = prometheus.NewDesc("palisade_drops_total",
		"Packets dropped, by reason.", []string{"reason"}, nil)
	dropBytesDesc = prometheus.NewDesc("palisade_dropped_bytes_total",
		"Bytes dropped, by reason.", []string{"reason"}, nil)
	ruleHitsDesc = prometheus.NewDesc("palisade_rule_hits_total",
		"Packets matched by each rule (org/id); a rule that never counts up may be unused.",
		[]string{"rule"}, nil)
	policyDesc = prometheus.NewDesc("palisade_policy_info",
		"The policy in force: its generation slot, policy digest (the rules', the same on every gateway running the same commit, as `palisade validate` prints it) and state digest (with this gateway's suspensions and lapsed certificates).",
		[]string{"generation", "policy_digest", "state_digest"}, nil)
	forwardedDesc = prometheus.NewDesc("palisade_allowed_packets_total",
		"Allowed packets by the path they left on: xdp (forwarded by the program) or stack (the kernel forwarded them).",
		[]string{"path"}, nil)
	errorsDesc = prometheus.NewDesc("palisade_scrape_errors_total",
		"1 when reading the datapath's counters failed during this scrape.", nil, nil)
)

// New returns a collector over src.
func New(src Source, log *slog.Logger) *Collector { return &Collector{src: src, log: log} }

// Describe implements prometheus.Collector.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{packetsDesc, bytesDesc, dropsDesc, dropBytesDesc, ruleHitsDesc, forwardedDesc, policyDesc, errorsDesc} {
		ch <- d
	}
	for _, d := range observeDescs {
		ch <- d
	}
	for _, d := range quotaDescs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	failed := 0.0
	if err := c.collect(ch); err != nil {
		c.log.Error("read counters for metrics", "err", err)
		failed = 1
	}
	ch <- prometheus.MustNewConstMetric(errorsDesc, prometheus.GaugeValue, failed)
}

func (c *Collector) collect(ch chan<- prometheus.Metric) error {
	ctr := c.src.Counters()
	orgs, err := ctr.OrgCounts()
	if err != nil {
		return err
	}
	for org, byVerdict := range orgs {
		for verdict, n := range byVerdict {
			ch <- prometheus.MustNewConstMetric(packetsDesc, prometheus.CounterValue, float64(n.Packets), org, verdict)
			ch <- prometheus.MustNewConstMetric(bytesDesc, prometheus.CounterValue, float64(n.Bytes), org, verdict)
		}
	}
	drops, err := ctr.DropCounts()
	if err != nil {
		return err
	}
	for reason, n := range drops {
		ch <- prometheus.MustNewConstMetric(dropsDesc, prometheus.CounterValue, float64(n.Packets), reason)
		ch <- prometheus.MustNewConstMetric(dropBytesDesc, prometheus.CounterValue, float64(n.Bytes), reason)
	}
	rules, err := ctr.RuleCounts()
	if err != nil {
		return err
	}
	for rule, n := range rules {
		ch <- prometheus.MustNewConstMetric(ruleHitsDesc, prometheus.CounterValue, float64(n.Packets), rule)
	}
	fwd, err := ctr.ForwardCounts()
	if err != nil {
		return err
	}
	for path, n := range fwd {
		ch <- prometheus.MustNewConstMetric(forwardedDesc, prometheus.CounterValue, float64(n.Packets), path)
	}
	gen, policyDigest, stateDigest := c.src.PolicyInfo()
	if policyDigest != "" {
		ch <- prometheus.MustNewConstMetric(policyDesc, prometheus.GaugeValue, 1, strconv.FormatUint(uint64(gen), 10), policyDigest, stateDigest)
	}
	use, err := c.src.FlowUse()
	if err != nil {
		return err
	}
	collectFlowUse(ch, use)
	refused, err := ctr.OrgRefusals()
	if err != nil {
		return err
	}
	collectRefusals(ch, refused)
	return c.collectObserve(ch)
}
