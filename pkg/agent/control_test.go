package agent

import (
	"reflect"
	"testing"

	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/palisade-psn/palisade/pkg/policy"
)

// Status shows the limits: an organisation's rule file sets, and no entry
// for one that sets none (its quotas are the gateway's defaults).
func TestOrgLimits(t *testing.T) {
	p := &policy.Compiled{Orgs: []policy.Org{
		{ID: "elmbridge", FlowQuota: 4096, NewFlowsPerSecond: 100, PacketsPerSecond: 20000, BytesPerSecond: 12_500_000},
		{ID: "hampshire", FragQuota: 64},
		{ID: "surrey-cc"},
	}}
	want := map[string]control.OrgLimits{
		"elmbridge": {Flows: 4096, NewFlowsPerSecond: 100, PacketsPerSecond: 20000, BytesPerSecond: 12_500_000},
		"hampshire": {Fragments: 64},
	}
	if got := orgLimits(p); !reflect.DeepEqual(got, want) {
		t.Errorf("orgLimits = %+v, want %+v", got, want)
	}
}
