package metrics

import (
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// AgentInfo is what a running agent knows beyond the datapath's maps. A
// Source that implements it gets these figures exported too.
type AgentInfo interface {
	Organisations() (active, suspended []string)
	LastApply() (ok bool, at time.Time)              // at.IsZero(): none yet
	FlowLogStats() (written, rotated, missed uint64) // lines, rotations, lines followers missed
	CaptureRunning() bool
}

// Version is the build's version; -ldflags "-X .../pkg/metrics.Version=v1.2.3"
// sets it, else the module's build info is used.
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return s.Value[:12]
			}
		}
		return bi.Main.Version
	}
	return "unknown"
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

var (
	buildDesc        = desc("palisade_build_info", "The running palisaded's version (value 1).", "version", "goversion")
	flowsLiveDesc    = desc("palisade_flow_table_entries", "Flows in the flow table now, counted at scrape time.")
	flowsCapDesc     = desc("palisade_flow_table_capacity", "Flows the table can hold; it never evicts: past it (or an organisation's quota) new flows are refused.")
	flowsCreatedDesc = desc("palisade_flows_created_total", "Flows the datapath created.")
	flowsRemovedDesc = desc("palisade_flows_removed_total",
		"Flows removed for idling out: by the agent's sweep, or by the datapath when a new packet found one expired.", "by")
	evictionsDesc = desc("palisade_flow_table_evictions_total",
		"Estimated flows that ended other than by idling out (created - live - removed): flows an apply cut. The table no longer evicts (issue 17); flows created during the scrape blur it, so it is held monotonic.")
	generationDesc = desc("palisade_policy_generation", "The policy generation slot in force (0 or 1).")
	applyOKDesc    = desc("palisade_policy_last_apply_success", "1 when the last apply of the rules succeeded, 0 when it was refused (the earlier policy stays).")
	applyTimeDesc  = desc("palisade_policy_last_apply_timestamp_seconds", "When the rules were last applied (or refused).")
	suspendedDesc  = desc("palisade_organisation_suspended", "1 for a suspended (red-flagged) organisation, 0 for an active one.", "org")
	eventsDesc     = desc("palisade_flow_log_events_total",
		"Flow-log events in the datapath: sent to the agent, or held back by sampling, the per-CPU rate limit, or a full ring buffer.", "outcome")
	linesDesc    = desc("palisade_flow_log_lines_total", "Flow-log lines written by this agent.")
	rotatedDesc  = desc("palisade_flow_log_rotations_total", "Flow-log files rotated by size by this agent.")
	missedDesc   = desc("palisade_flow_log_follower_missed_total", "Flow-log lines a slow follower (palisade flows --follow) missed.")
	captureDesc  = desc("palisade_capture_running", "1 while a packet capture runs.")
	capturedDesc = desc("palisade_capture_packets_total", "Packets the datapath copied to a capture, or lost because the buffer was full.", "outcome")
)

var observeDescs = []*prometheus.Desc{buildDesc, flowsLiveDesc, flowsCapDesc, flowsCreatedDesc, flowsRemovedDesc,
	evictionsDesc, generationDesc, applyOKDesc, applyTimeDesc, suspendedDesc, eventsDesc, linesDesc, rotatedDesc,
	missedDesc, captureDesc, capturedDesc}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, l ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, l...)
}

func counter(ch chan<- prometheus.Metric, d *prometheus.Desc, v uint64, l ...string) {
	ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), l...)
}

// collectObserve exports the flow table, flow log and capture figures.
func (c *Collector) collectObserve(ch chan<- prometheus.Metric) error {
	gauge(ch, buildDesc, 1, version(), runtime.Version())
	ctr := c.src.Counters()
	obs, err := ctr.ObsCounts()
	if err != nil {
		return err
	}
	live, err := ctr.FlowTableLive()
	if err != nil {
		return err
	}
	gauge(ch, flowsLiveDesc, float64(live))
	gauge(ch, flowsCapDesc, float64(ctr.FlowTableCapacity()))
	counter(ch, flowsCreatedDesc, obs["flows_created"])
	counter(ch, flowsRemovedDesc, obs["flows_swept"], "sweep")
	counter(ch, flowsRemovedDesc, obs["flows_expired"], "datapath")
	gone := obs["flows_swept"] + obs["flows_expired"] + uint64(live)
	counter(ch, evictionsDesc, c.evictions.hold(obs["flows_created"]-min(gone, obs["flows_created"])))
	for _, o := range []string{"sent", "rate_limited", "sampled_out", "lost"} {
		counter(ch, eventsDesc, obs["log_"+o], o)
	}
	counter(ch, capturedDesc, obs["captured"], "copied")
	counter(ch, capturedDesc, obs["capture_lost"], "lost")
	gen, _, _ := c.src.PolicyInfo()
	gauge(ch, generationDesc, float64(gen))
	if ai, ok := c.src.(AgentInfo); ok {
		c.collectAgent(ch, ai)
	}
	return nil
}

func (c *Collector) collectAgent(ch chan<- prometheus.Metric, ai AgentInfo) {
	active, suspended := ai.Organisations()
	for _, o := range active {
		gauge(ch, suspendedDesc, 0, o)
	}
	for _, o := range suspended {
		gauge(ch, suspendedDesc, 1, o)
	}
	if ok, at := ai.LastApply(); !at.IsZero() {
		gauge(ch, applyOKDesc, b2f(ok))
		gauge(ch, applyTimeDesc, float64(at.UnixNano())/1e9)
	}
	w, r, m := ai.FlowLogStats()
	counter(ch, linesDesc, w)
	counter(ch, rotatedDesc, r)
	counter(ch, missedDesc, m)
	gauge(ch, captureDesc, b2f(ai.CaptureRunning()))
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// monotonic keeps an estimated counter from ever going down, which
// Prometheus would read as a reset.
type monotonic struct {
	mu  sync.Mutex
	max uint64
}

func (m *monotonic) hold(v uint64) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.max = max(m.max, v)
	return m.max
}
