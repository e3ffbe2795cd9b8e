package metrics

import (
	"encoding/json"
	"os"
	"regexp"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"
)

// Metrics the dashboards may use that other parts of Palisade export.
var otherMetrics = map[string]bool{"palisade_inspect_queue_overflow_total": true}

var metricName = regexp.MustCompile(`palisade_[a-z_]+`)

// exported is every metric name the collector describes.
func exported() map[string]bool {
	ch := make(chan *prometheus.Desc, 64)
	go func() { (&Collector{}).Describe(ch); close(ch) }()
	out := map[string]bool{}
	fq := regexp.MustCompile(`fqName: "([a-z_]+)"`)
	for d := range ch {
		out[fq.FindStringSubmatch(d.String())[1]] = true
	}
	return out
}

// checkNames fails for a palisade_ metric the agent does not export.
func checkNames(t *testing.T, where, expr string, have map[string]bool) {
	for _, n := range metricName.FindAllString(expr, -1) {
		if !have[n] && !otherMetrics[n] {
			t.Errorf("%s uses %s, which palisaded does not export", where, n)
		}
	}
}

func TestAlertRules(t *testing.T) {
	b, err := os.ReadFile("../../deploy/prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert, Expr, For string
				Labels           map[string]string
				Annotations      map[string]string
			}
		}
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("alerts.yml: %v", err)
	}
	want := map[string]bool{"PalisadeSuspendedOrganisationSending": false, "PalisadeDropRateSpike": false,
		"PalisadeInspectionQueueOverflow": false, "PalisadeAgentDown": false, "PalisadeAgentAbsent": false,
		"PalisadeOrgAtFlowQuota": false, "PalisadeOrgRateLimited": false}
	have := exported()
	for _, g := range f.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" || r.Expr == "" || r.Labels["severity"] == "" || r.Annotations["summary"] == "" {
				t.Errorf("group %s: incomplete rule %+v", g.Name, r)
			}
			checkNames(t, r.Alert, r.Expr, have)
			if _, ok := want[r.Alert]; ok {
				want[r.Alert] = true
			}
		}
	}
	for a, found := range want {
		if !found {
			t.Errorf("alerts.yml has no %s", a)
		}
	}
}

func TestDashboard(t *testing.T) {
	b, err := os.ReadFile("../../deploy/grafana/palisade.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Title  string
		UID    string
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("palisade.json: %v", err)
	}
	if d.Title == "" || d.UID == "" || len(d.Panels) < 8 {
		t.Fatalf("dashboard %q (%s) with %d panels", d.Title, d.UID, len(d.Panels))
	}
	have := exported()
	for _, p := range d.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			checkNames(t, p.Title, q.Expr, have)
		}
	}
}
