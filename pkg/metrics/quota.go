package metrics

import (
	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/prometheus/client_golang/prometheus"
)

// Issue 17: each organisation may hold at most its quota of the flow
// table; these show how close each one is, read at scrape time.
var (
	orgFlowsDesc = desc("palisade_org_flows",
		"Flows an organisation holds in the flow table now (its new flows are refused as flow_quota at its quota).", "org")
	orgFlowQuotaDesc = desc("palisade_org_flow_quota",
		"Flows an organisation may hold at once: its rule file's limits.flows, else the config's flow_quota, else the table's size over the number of organisations.", "org")
	orgRefusalsDesc = desc("palisade_org_refusals_total",
		"Packets of an organisation refused by its own budgets, by drop reason: flow_quota, flow_table_full, fragment_quota, rate_limited.", "org", "reason")
)

var quotaDescs = []*prometheus.Desc{orgFlowsDesc, orgFlowQuotaDesc, orgRefusalsDesc}

// collectFlowUse exports each published organisation's flows in use and quota.
func collectFlowUse(ch chan<- prometheus.Metric, use map[string]datapath.FlowUse) {
	for org, u := range use {
		gauge(ch, orgFlowsDesc, float64(u.InUse), org)
		gauge(ch, orgFlowQuotaDesc, float64(u.Quota), org)
	}
}

// collectRefusals exports each organisation's refusals by its budgets;
// reasons never hit are absent, as OrgRefusals leaves them out.
func collectRefusals(ch chan<- prometheus.Metric, refused map[string]map[string]datapath.Counter) {
	for org, byReason := range refused {
		for reason, n := range byReason {
			counter(ch, orgRefusalsDesc, n.Packets, org, reason)
		}
	}
}
