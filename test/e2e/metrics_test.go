package e2e

import (
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

type families map[string]*dto.MetricFamily

// value finds a sample by its labels; -1 when absent.
func (f families) value(name string, labels ...string) float64 {
	mf := f[name]
	if mf == nil {
		return -1
	}
next:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		}
	}
	return -1
}

func (o *obsLab) scrapeMetrics(t *testing.T) families {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mf, err := p.TextToMetricFamilies(strings.NewReader(o.scrape(t)))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return mf
}

// TestMetrics scrapes the agent with Prometheus's own parser before and
// after traffic the test sends, and checks the differences are that traffic.
func TestMetrics(t *testing.T) {
	o := startObsLab(t, 100)
	before := o.scrapeMetrics(t)
	pings(t, o.gw, "police", "198.18.3.10", "198.19.10.10", 4)
	refusedSYN(t, o.gw, "police", "198.18.3.10", "198.19.10.10:443")
	after := o.scrapeMetrics(t)
	delta := func(name string, labels ...string) float64 {
		return after.value(name, labels...) - max(before.value(name, labels...), 0)
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"palisade_packets_total", []string{"org", "surrey-police", "verdict", "allow"}, 8}, // 4 requests, 4 replies
		{"palisade_packets_total", []string{"org", "surrey-police", "verdict", "drop"}, 1},
		{"palisade_rule_hits_total", []string{"rule", "surrey-police/ping-services"}, 8},
		{"palisade_drops_total", []string{"reason", "no_rule"}, 1},
		{"palisade_flows_created_total", nil, 4},
		{"palisade_flow_log_events_total", []string{"outcome", "sent"}, 5},
	} {
		if got := delta(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v rose by %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"palisade_organisation_suspended", []string{"org", "elmbridge-bc"}, 1},
		{"palisade_organisation_suspended", []string{"org", "surrey-cc"}, 0},
		{"palisade_policy_last_apply_success", nil, 1},
		{"palisade_capture_running", nil, 0},
		{"palisade_flow_table_capacity", nil, 262144},
	} {
		if got := after.value(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if after.value("palisade_flow_table_entries") < 4 || after.value("palisade_build_info") != 1 {
		t.Errorf("flow table entries %v, build info %v", after.value("palisade_flow_table_entries"), after.value("palisade_build_info"))
	}
}

// TestTop ranks organisations while one of them pings.
func TestTop(t *testing.T) {
	o := startObsLab(t, 100)
	done := make(chan error, 1)
	go func() {
		var err error
		for i := 0; i < 12 && err == nil; i++ {
			err = o.gw.Orgs["surrey"].NS.PingFrom("198.18.1.10", "198.19.10.10", 3*time.Second)
			time.Sleep(200 * time.Millisecond)
		}
		done <- err
	}()
	var top struct {
		Organisations []struct {
			Name    string
			Packets uint64
		}
		Rules []struct {
			Name    string
			Packets uint64
		}
	}
	o.cliJSON(t, &top, "top", "--interval", "2s")
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(top.Organisations) == 0 || top.Organisations[0].Name != "surrey-cc" || top.Organisations[0].Packets == 0 ||
		len(top.Rules) == 0 || top.Rules[0].Name != "surrey-cc/ping-services" {
		t.Errorf("top = %+v", top)
	}
	text := o.cli(t, "top", "--interval", "1s")
	if !strings.Contains(text, "ORGANISATION") || !strings.Contains(text, "RULE") {
		t.Errorf("palisade top:\n%s", text)
	}
}
