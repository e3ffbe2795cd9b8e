package main

import (
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/palisade-psn/palisade/pkg/datapath"
)

func statusAgent(t *testing.T) string {
	return fakeAgent(t, func(s *control.Server) {
		s.Handle("GET /v1/status", func(*http.Request) (any, error) {
			return control.Status{
				Interfaces: []control.InterfaceStatus{{Interface: "org0", Mode: "native"}},
				Policy:     control.PolicyStatus{PolicyState: datapath.PolicyState{Loaded: true, Generation: 1}, PolicyDigest: "3fa51f62", StateDigest: "3fa51f62", Organisations: 2, Rules: 5},
				Orgs:       map[string]map[string]datapath.Counter{"surrey-cc": {"allow": {Packets: 10, Bytes: 1000}}},
				Drops:      map[string]datapath.Counter{"flow_quota": {Packets: 40960}},
				Flows: control.FlowsStatus{TableSize: 262144, Orgs: map[string]datapath.FlowUse{
					"surrey-cc": {InUse: 3, Quota: 131072},
					"elmbridge": {InUse: 131072, Quota: 131072},
				}},
				Refusals: map[string]map[string]datapath.Counter{
					"elmbridge": {"flow_quota": {Packets: 40960, Bytes: 2457600}, "rate_limited": {Packets: 7, Bytes: 420}},
					"surrey-cc": {"fragment_quota": {Packets: 1, Bytes: 1500}},
				},
				Limits: map[string]control.OrgLimits{
					"elmbridge": {Flows: 131072, NewFlowsPerSecond: 100, PacketsPerSecond: 20000, BytesPerSecond: 12_500_000},
					"hampshire": {Fragments: 64},
				},
			}, nil
		})
	})
}

func TestStatusFlowQuotas(t *testing.T) {
	sock := statusAgent(t)
	out, err := runCLI(t, "--socket", sock, "status")
	if err != nil {
		t.Fatal(err, out)
	}
	for _, want := range []string{
		"flow table 262144 entries, 131075 in use",
		"elmbridge     131072  131072  100% AT QUOTA: new flows refused",
		"surrey-cc     3       131072  0%\n",
		"flow_quota        40960",
	} {
		if !strings.Contains(squeeze(out), squeeze(want)) {
			t.Errorf("palisade status lacks %q:\n%s", want, out)
		}
	}
	out, err = runCLI(t, "--socket", sock, "status", "-o", "json")
	if err != nil {
		t.Fatal(err, out)
	}
	var st struct {
		Flows struct {
			TableSize uint32 `json:"table_size"`
			Orgs      map[string]struct {
				InUse uint64 `json:"in_use"`
				Quota uint32 `json:"quota"`
			} `json:"organisations"`
		} `json:"flows"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err, out)
	}
	if st.Flows.TableSize != 262144 || st.Flows.Orgs["elmbridge"].InUse != 131072 || st.Flows.Orgs["surrey-cc"].Quota != 131072 {
		t.Errorf("palisade status -o json flows = %+v\n%s", st.Flows, out)
	}
}

func TestStatusBudgets(t *testing.T) {
	sock := statusAgent(t)
	out, err := runCLI(t, "--socket", sock, "status")
	if err != nil {
		t.Fatal(err, out)
	}
	for _, want := range []string{
		"ORGANISATION LIMITS REFUSED BY ITS BUDGETS (packets)",
		"elmbridge 131072 flows, 100 new flows/s, 20000 packets/s, 12500000 bytes/s flow_quota 40960, rate_limited 7\n",
		"hampshire 64 fragments -\n",
		"surrey-cc - fragment_quota 1\n",
	} {
		if !strings.Contains(squeeze(out), squeeze(want)) {
			t.Errorf("palisade status lacks %q:\n%s", want, out)
		}
	}
	out, err = runCLI(t, "--socket", sock, "status", "-o", "json")
	if err != nil {
		t.Fatal(err, out)
	}
	var st struct {
		Refusals map[string]map[string]struct{ Packets uint64 } `json:"refusals"`
		Limits   map[string]map[string]uint64                   `json:"limits"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err, out)
	}
	if st.Refusals["elmbridge"]["rate_limited"].Packets != 7 || st.Refusals["surrey-cc"]["fragment_quota"].Packets != 1 {
		t.Errorf("palisade status -o json refusals = %+v\n%s", st.Refusals, out)
	}
	want := map[string]uint64{"flows": 131072, "new_flows_per_second": 100, "packets_per_second": 20000, "bytes_per_second": 12_500_000}
	if !maps.Equal(st.Limits["elmbridge"], want) || !maps.Equal(st.Limits["hampshire"], map[string]uint64{"fragments": 64}) {
		t.Errorf("palisade status -o json limits = %+v\n%s", st.Limits, out)
	}
}

// Nothing set and nothing refused: no budgets section at all.
func TestStatusBudgetsNone(t *testing.T) {
	var b strings.Builder
	printBudgets(&b, map[string]control.OrgLimits{}, map[string]map[string]datapath.Counter{"idle": {"rate_limited": {}}})
	if b.Len() != 0 {
		t.Errorf("printBudgets with nothing to show wrote %q", b.String())
	}
}

// squeeze folds runs of spaces, so the test does not pin tabwriter's padding.
func squeeze(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' }), " ")
}
