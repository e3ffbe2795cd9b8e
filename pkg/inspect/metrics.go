package inspect

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the inspector's own counters: what reached userspace and
// what it decided. Labels are bounded: rule ids, verdicts, reasons.
type Metrics struct {
	packets   *prometheus.CounterVec
	verdicts  *prometheus.CounterVec
	overloads *prometheus.CounterVec
	shedFlows *prometheus.CounterVec
	evictions *prometheus.CounterVec
	unheld    *prometheus.CounterVec
	messages  *prometheus.CounterVec

	pathRestored *prometheus.CounterVec
	pathIntact   prometheus.Gauge
	latency      prometheus.Histogram
	decision     prometheus.Histogram
}

func newMetrics() *Metrics {
	return &Metrics{
		packets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_inspect_packets_total",
			Help: "Packets of inspected flows that reached the inspector through NFQUEUE, by what was done with them (accept, drop, hold until the flow is decided).",
		}, []string{"action"}),
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_inspect_verdicts_total",
			Help: "Inspected flows decided, by rule, verdict and reason.",
		}, []string{"rule", "verdict", "reason"}),
		overloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_inspect_overload_total",
			Help: "Flows the inspector had no room to track, passed (fail-open rules) or dropped (fail-closed), by rule and failure mode.",
		}, []string{"rule", "fail"}),
		shedFlows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_inspect_shed_total",
			Help: "New flows the inspector did not track for their organisation's budget, by organisation, reason (flow_quota: its quota held by its own data-carrying flows; table_full: the quotas oversubscribe the table) and failure mode (closed: refused; open: passed uninspected).",
		}, []string{"org", "reason", "fail"}),
		evictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_inspect_evictions_total",
			Help: "Flows an organisation at its quota gave up for its own new flow, by organisation and state (decided, unreplied, replied: opened but no bytes yet; they are inspected afresh if they send).",
		}, []string{"org", "state"}),
		unheld: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_inspect_hold_exceeded_total",
			Help: "Flows with more client segments before their name than the inspector holds, by organisation, bound (flow: segments of one flow; org: the organisation's share of the queues) and failure mode (closed: refused; open: its segments pass, the name still decides it).",
		}, []string{"org", "bound", "fail"}),
		pathRestored: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_inspect_queue_path_restored_total",
			Help: "Parts of the queue path found missing and put back, by IP family and part (chain: the mangle chain's rules; jump: PREROUTING's jump to it; blackhole: the ip rule dropping fail-closed packets that skipped it).",
		}, []string{"family", "part"}),
		pathIntact: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "palisade_inspect_queue_path_intact",
			Help: "1 when every part of the queue path was in place (or put back) at the last check, 0 when one could not be put back.",
		}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "palisade_inspect_verdict_messages_total",
			Help: "Verdict messages sent to the kernel's queues: single (one packet) or batch (a run of accepted packets, one message).",
		}, []string{"kind"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "palisade_inspect_packet_seconds",
			Help:    "Time the inspector spent on one queued packet.",
			Buckets: prometheus.ExponentialBuckets(2e-6, 4, 10),
		}),
		decision: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "palisade_inspect_decision_seconds",
			Help:    "Time from a flow's first queued packet to its decision (includes waiting for the client's bytes).",
			Buckets: prometheus.ExponentialBuckets(1e-5, 4, 10),
		}),
	}
}

// Collectors are the metrics to register with a Prometheus registry.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.packets, m.verdicts, m.overloads, m.shedFlows, m.evictions, m.unheld, m.messages, m.latency, m.decision, m.pathRestored, m.pathIntact}
}

func (m *Metrics) packet(a action, took time.Duration) {
	m.packets.WithLabelValues(a.String()).Inc()
	m.latency.Observe(took.Seconds())
}

func (m *Metrics) decided(rule string, d Decision, took time.Duration) {
	v := "drop"
	if d.Allow {
		v = "allow"
	}
	m.verdicts.WithLabelValues(rule, v, d.Reason).Inc()
	m.decision.Observe(took.Seconds())
}

func failMode(failOpen bool) string {
	if failOpen {
		return "open"
	}
	return "closed"
}

func (m *Metrics) overload(rule string, failOpen bool) {
	m.overloads.WithLabelValues(rule, failMode(failOpen)).Inc()
}

// Why a new flow was not tracked (palisade_inspect_shed_total's reason).
const (
	shedQuota     = "flow_quota"
	shedTableFull = "table_full"
)

func (m *Metrics) shed(org, reason string, failOpen bool) {
	m.shedFlows.WithLabelValues(org, reason, failMode(failOpen)).Inc()
}

func (m *Metrics) evicted(org, state string) { m.evictions.WithLabelValues(org, state).Inc() }

// Which hold bound a flow met (palisade_inspect_hold_exceeded_total's bound).
const (
	boundFlow = "flow"
	boundOrg  = "org"
)

func (m *Metrics) holdExceeded(org, bound string, failOpen bool) {
	m.unheld.WithLabelValues(org, bound, failMode(failOpen)).Inc()
}

func (m *Metrics) verdictMessage(kind string) {
	m.messages.WithLabelValues(kind).Inc()
}
