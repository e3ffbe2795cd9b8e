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
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.PanicOnError}).
		ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	got := rec.Body.String()
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

// TestCollectorDescribesFlowUse: the collector registers what it exports.
func TestCollectorDescribesFlowUse(t *testing.T) {
	have := exported()
	for _, n := range []string{"palisade_org_flows", "palisade_org_flow_quota"} {
		if !have[n] {
			t.Errorf("the collector does not describe %s", n)
		}
	}
}
