package main

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/palisade-psn/palisade/pkg/capture"
	"github.com/palisade-psn/palisade/pkg/control"
	"github.com/palisade-psn/palisade/pkg/datapath"
	"github.com/palisade-psn/palisade/pkg/flows"
)

// fakeAgent serves canned answers on a socket of the test's own: the
// commands' formatting is tested without root or a datapath.
func fakeAgent(t *testing.T, register func(*control.Server)) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "api.sock")
	srv, err := control.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	register(srv)
	go srv.Serve()
	t.Cleanup(func() { srv.Close() })
	return sock
}

func TestTopRanksByDelta(t *testing.T) {
	var calls atomic.Int64
	sock := fakeAgent(t, func(s *control.Server) {
		s.Handle("GET /v1/counters", func(*http.Request) (any, error) {
			n := uint64(calls.Add(1) - 1) // 0, then 1
			return control.Counters{
				Orgs: map[string]map[string]datapath.Counter{
					"quiet": {"allow": {Packets: 10 + n, Bytes: 1000 + 100*n}},
					"loud":  {"allow": {Packets: 5 + 50*n, Bytes: 500 + 9000*n}, "drop": {Packets: 7 * n, Bytes: 420 * n}},
					"idle":  {"allow": {Packets: 99, Bytes: 9999}},
				},
				Rules: map[string]datapath.RuleCounter{"loud/web": {Counter: datapath.Counter{Packets: 50 * n, Bytes: 9000 * n}}},
			}, nil
		})
	})
	out, err := runCLI(t, "--socket", sock, "top", "--interval", "10ms", "-o", "json")
	if err != nil {
		t.Fatal(err, out)
	}
	var top Top
	if err := json.Unmarshal([]byte(out), &top); err != nil {
		t.Fatal(err, out)
	}
	if len(top.Organisations) != 2 || top.Organisations[0].Name != "loud" || top.Organisations[0].Packets != 57 ||
		top.Organisations[0].Dropped != 7 || top.Organisations[1].Name != "quiet" || len(top.Rules) != 1 {
		t.Errorf("top = %+v", top)
	}
}

func TestFlowsFromFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flows.json")
	f, err := flows.OpenFile(path, 1<<20, 2)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(&flows.Record{EventType: "flow", Event: "start", Org: "surrey-cc", Verdict: "allow", SrcIP: "198.18.1.10", DestIP: "198.19.10.10", DestPort: 443, Proto: "TCP", RuleID: "surrey-cc/web"})
	f.Write(&flows.Record{EventType: "drop", Org: "surrey-cc", Verdict: "drop", SrcIP: "2001:db8:1::10", DestIP: "2001:db8:10::10", DestPort: 22, Proto: "TCP", DropReason: "no_rule"})
	f.Close()
	out, err := runCLI(t, "flows", "--file", path, "--verdict", "deny")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "[2001:db8:10::10]:22") || !strings.Contains(out, "no_rule") || strings.Contains(out, "surrey-cc/web") {
		t.Errorf("palisade flows --verdict deny:\n%s", out)
	}
}

func TestCaptureList(t *testing.T) {
	sock := fakeAgent(t, func(s *control.Server) {
		s.Handle("GET /v1/captures", func(*http.Request) (any, error) {
			return []capture.Info{{ID: "c1", Request: capture.Request{Org: "surrey-cc"}, State: "done", Packets: 7, Requester: "root", SHA256: "ab12"}}, nil
		})
	})
	out, err := runCLI(t, "--socket", sock, "capture", "list")
	if err != nil || !strings.Contains(out, "c1") || !strings.Contains(out, "ab12") || !strings.Contains(out, "surrey-cc") {
		t.Errorf("palisade capture list: %v\n%s", err, out)
	}
	if _, err := runCLI(t, "--socket", sock, "capture", "--org", "x"); err == nil {
		t.Error("capture without -w was accepted")
	}
}
