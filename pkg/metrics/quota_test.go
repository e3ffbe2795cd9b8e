package metrics

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// flowUseOnly collects just the flow quota gauges, as the Collector does
// from its Source at scrape time.
type flowUseOnly map[string]datapath.FlowUse

func (f flowUseOnly) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range quotaDescs {
		ch <- d
	}
}

func (f flowUseOnly) Collect(ch chan<- prometheus.Metric) { collectFlowUse(ch, f) }

func TestFlowUseGauges(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(flowUseOnly{
		"surrey-cc": {InUse: 3, Quota: 131072},
		"elmbridge": {InUse: 4096, Quota: 4096},
		"idle":      {InUse: 0, Quota: 10},
	})
	got := scrape(reg)
	for _, line := range []string{
		"# TYPE palisade_org_flows gauge",
		"# TYPE palisade_org_flow_quota gauge",
		`palisade_org_flows{org="elmbridge"} 4096`,
		`palisade_org_flow_quota{org="elmbridge"} 4096`,
		`palisade_org_flows{org="idle"} 0`,
		`palisade_org_flow_quota{org="idle"} 10`,
		`palisade_org_flows{org="surrey-cc"} 3`,
		`palisade_org_flow_quota{org="surrey-cc"} 131072`,
	} {
		if !strings.Contains(got, line+"\n") {
			t.Errorf("/metrics lacks %q:\n%s", line, got)
		}
	}
}

// refusalsOnly collects just the per-organisation refusal counters.
type refusalsOnly map[string]map[string]datapath.Counter

func (r refusalsOnly) Describe(ch chan<- *prometheus.Desc) { ch <- orgRefusalsDesc }

func (r refusalsOnly) Collect(ch chan<- prometheus.Metric) { collectRefusals(ch, r) }

func TestOrgRefusalCounters(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(refusalsOnly{
		"elmbridge": {"flow_quota": {Packets: 40960, Bytes: 2457600}, "rate_limited": {Packets: 7, Bytes: 420}},
		"surrey-cc": {"fragment_quota": {Packets: 1, Bytes: 1500}},
	})
	got := scrape(reg)
	for _, line := range []string{
		"# TYPE palisade_org_refusals_total counter",
		`palisade_org_refusals_total{org="elmbridge",reason="flow_quota"} 40960`,
		`palisade_org_refusals_total{org="elmbridge",reason="rate_limited"} 7`,
		`palisade_org_refusals_total{org="surrey-cc",reason="fragment_quota"} 1`,
	} {
		if !strings.Contains(got, line+"\n") {
			t.Errorf("/metrics lacks %q:\n%s", line, got)
		}
	}
	if strings.Contains(got, `org="surrey-cc",reason="rate_limited"`) {
		t.Errorf("/metrics shows a reason never hit:\n%s", got)
	}
}

func scrape(reg *prometheus.Registry) string {
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.PanicOnError}).
		ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

// TestCollectorDescribesFlowUse: the collector registers what it exports.
func TestCollectorDescribesFlowUse(t *testing.T) {
	have := exported()
	for _, n := range []string{"palisade_org_flows", "palisade_org_flow_quota", "palisade_org_refusals_total"} {
		if !have[n] {
			t.Errorf("the collector does not describe %s", n)
		}
	}
}
