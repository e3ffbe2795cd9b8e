package inspect_test

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/pkg/datapath"
)

const cloudRule = `rule="surrey-cc/cloud-storage"`

func TestInspection(t *testing.T) {
	il := startInspectLab(t, datapath.Native)
	if _, err := os.Stat(filepath.Join(il.agent.PinPath, "links", "tc-org0")); err != nil {
		t.Errorf("tc mark link not pinned: %v", err)
	}
	t.Run("allowed SNI completes and later packets skip userspace", func(t *testing.T) { testAllowedSNI(t, il) })
	t.Run("names and evasions", func(t *testing.T) { testNames(t, il) })
	t.Run("http host", func(t *testing.T) { testHTTP(t, il) })
	t.Run("dns", func(t *testing.T) { testDNS(t, il) })
	t.Run("clienthello in ip fragments", func(t *testing.T) { testFragments(t, il) })
	t.Run("clienthello segments reordered", func(t *testing.T) { testReordered(t, il) })
	t.Run("talked around: names never finished or trickled", func(t *testing.T) { testStalled(t, il) })
	t.Run("talked around: a bare-LF http request", func(t *testing.T) { testBareLF(t, il) })
	t.Run("talked around: http heads servers read otherwise", func(t *testing.T) { testHTTPAmbiguous(t, il) })
	t.Run("talked around: urgent data", func(t *testing.T) { testUrgent(t, il) })
	t.Run("real clients", func(t *testing.T) { testRealClients(t, il) })
	t.Run("one organisation floods its inspected rule", func(t *testing.T) { testOrgFlood(t, il) })
	t.Run("queue path flushed under traffic", func(t *testing.T) { testQueuePathFlushed(t, il) })
	t.Run("queue path flushed with the agent gone", func(t *testing.T) { testQueuePathNoAgent(t, il) })
	t.Run("agent gone", func(t *testing.T) { testAgentGone(t, il) })
}

// Generic XDP builds the socket buffer before the program runs; the mark
// must still reach netfilter through the metadata.
func TestInspectionGeneric(t *testing.T) {
	il := startInspectLab(t, datapath.Generic)
	testAllowedSNI(t, il)
	if err := il.tlsExchange("surrey", "198.18.1.10", cloud4, "evil.example", 1, 0); !refused(err) {
		t.Errorf("other sni: %v, want nothing back", err)
	}
	if _, err := il.dnsUDP(dnsQuery(t, "www.psn.example.")); err != nil {
		t.Errorf("udp query in an allowed zone: %v", err)
	}
}

func testAllowedSNI(t *testing.T, il *inspectLab) {
	const rounds = 200
	queued := il.scrape(t, "palisade_inspect_packets_total")
	hits := il.scrape(t, "palisade_rule_hits_total", cloudRule)
	if err := il.tlsExchange("surrey", "198.18.1.10", cloud4, "files.cloud.psn.example", rounds, 0); err != nil {
		t.Fatalf("allowed SNI: %v", err)
	}
	queued = il.scrape(t, "palisade_inspect_packets_total") - queued
	hits = il.scrape(t, "palisade_rule_hits_total", cloudRule) - hits
	t.Logf("one allowed TLS flow: %.0f packets through the boundary, %.0f reached userspace (%.1f%%)", hits, queued, 100*queued/hits)
	if hits < 2*rounds || queued > 12 {
		t.Errorf("%.0f of %.0f packets of an allowed flow reached userspace; want only the first few", queued, hits)
	}
	if err := il.tlsExchange("surrey", "2001:db8:1::10", cloud6, "files.cloud.psn.example", 5, 0); err != nil {
		t.Errorf("allowed SNI over IPv6: %v", err)
	}
}

func testNames(t *testing.T, il *inspectLab) {
	for _, c := range []struct {
		name, sni string
		chunk     int
		allow     bool
	}{
		{"other sni", "evil.example", 0, false},
		{"no sni", "", 0, false},
		// More segments before the name than a flow may hold (and than a
		// sender's initial window): a fail-closed rule refuses the flow.
		{"allowed sni in 16-byte segments", "tiny.cloud.psn.example", 16, false},
		{"other sni in 16-byte segments", "evil.example", 16, false},
		{"allowed sni split in two", "split.cloud.psn.example", 200, true},
		{"allowed sni in 300-byte segments", "several.cloud.psn.example", 300, true},
	} {
		err := il.tlsExchange("surrey", "198.18.1.10", cloud4, c.sni, 3, c.chunk)
		switch {
		case c.allow && err != nil:
			t.Errorf("%s: should complete: %v", c.name, err)
		case !c.allow && !refused(err):
			t.Errorf("%s: should get nothing back, got %v", c.name, err)
		}
	}
	if n := il.scrape(t, "palisade_inspect_verdicts_total", cloudRule, `reason="no_sni"`); n < 1 {
		t.Errorf("no_sni refusals counted: %v", n)
	}
	if n := il.scrape(t, "palisade_inspect_verdicts_total", cloudRule, `reason="hold_bound"`); n < 2 {
		t.Errorf("hold_bound refusals counted: %v, want the two 16-byte-segment flows", n)
	}
	// A refused flow's retransmissions are dropped in XDP, not queued.
	if n := il.scrape(t, "palisade_drops_total", `reason="flow_denied"`); n < 1 {
		t.Errorf("flow_denied drops = %v, want the refused flows' later packets", n)
	}
}

func testHTTP(t *testing.T, il *inspectLab) {
	if line, err := il.httpGet("198.18.1.10", "intranet.psn.example"); err != nil || line != "HTTP/1.1 200 OK" {
		t.Errorf("allowed host: %q, %v", line, err)
	}
	if line, err := il.httpGet("198.18.1.10", "www.intranet.psn.example:80"); err != nil || line != "HTTP/1.1 200 OK" {
		t.Errorf("allowed wildcard host: %q, %v", line, err)
	}
	if line, err := il.httpGet("198.18.1.10", "evil.example"); line != "" {
		t.Errorf("refused host got %q (%v)", line, err)
	}
}

func testDNS(t *testing.T, il *inspectLab) {
	if _, err := il.dnsUDP(dnsQuery(t, "www.psn.example.")); err != nil {
		t.Errorf("udp query in an allowed zone: %v", err)
	}
	if _, err := il.dnsUDP(dnsQuery(t, "www.evil.example.")); !refused(err) {
		t.Errorf("udp query outside the zones: %v, want no answer", err)
	}
	// One 5-tuple reused: each query is read, not only the first.
	c, err := il.dnsSocket()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, name := range []string{"a.psn.example.", "b.psn.example."} {
		if _, err := askUDP(c, dnsQuery(t, name)); err != nil {
			t.Errorf("allowed query %s on a reused 5-tuple: %v", name, err)
		}
	}
	if _, err := askUDP(c, dnsQuery(t, "exfil.evil.example.")); !refused(err) {
		t.Errorf("a query outside the zones after allowed ones on the same 5-tuple: %v, want no answer", err)
	}
	if _, err := il.dnsTCP(dnsQuery(t, "records.police.uk.")); err != nil {
		t.Errorf("tcp query in an allowed zone: %v", err)
	}
	if _, err := il.dnsTCP(dnsQuery(t, "www.evil.example.")); !refused(err) {
		t.Errorf("tcp query outside the zones: %v, want no answer", err)
	}
}

// A SYN carrying an allowed ClientHello, in two IP fragments: refused (or,
// if the gateway reassembled it, decided on the whole), never allowed
// unseen.
func testFragments(t *testing.T, il *inspectLab) {
	allowed := il.scrape(t, "palisade_inspect_verdicts_total", cloudRule, `verdict="allow"`)
	refusedFrag := il.scrape(t, "palisade_inspect_verdicts_total", cloudRule, `reason="ip_fragment"`)
	hello := captureHello(t, "frag.cloud.psn.example")
	if err := il.sendFragmentedSYN("198.18.1.10", "198.19.20.30", 41999, hello, 64); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && il.scrape(t, "palisade_inspect_verdicts_total", cloudRule, `reason="ip_fragment"`) == refusedFrag {
		time.Sleep(100 * time.Millisecond)
	}
	if n := il.scrape(t, "palisade_inspect_verdicts_total", cloudRule, `reason="ip_fragment"`) - refusedFrag; n != 1 {
		t.Errorf("fragmented ClientHello: %v refusals for ip_fragment, want 1", n)
		il.dumpMetrics(t, "palisade_inspect_", "palisade_drops_total", "palisade_rule_hits_total")
	}
	if n := il.scrape(t, "palisade_inspect_verdicts_total", cloudRule, `verdict="allow"`) - allowed; n != 0 {
		t.Errorf("fragmented ClientHello allowed %v flows", n)
	}
}

// captureHello is a real crypto/tls client's ClientHello record(s).
func captureHello(t *testing.T, sni string) []byte {
	t.Helper()
	c, s := net.Pipe()
	defer s.Close()
	go func() {
		_ = tls.Client(c, &tls.Config{ServerName: sni, InsecureSkipVerify: true}).Handshake()
		c.Close()
	}()
	s.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 16<<10)
	n, err := s.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:n]
}
