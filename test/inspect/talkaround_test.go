package inspect_test

// Issue 18, inspection that cannot be talked around: a client that never
// finishes its name, one that sends it slowly with bare LF line endings,
// one with urgent data, get nothing to the service; real clients (Go,
// curl, openssl, a split ClientHello) still connect. The servers count the
// bytes they read from each connection (countReads), so "nothing reached
// the service" is measured where it matters.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/internal/agenttest"
	"golang.org/x/sys/unix"
)

const intranetRule = `rule="surrey-cc/intranet"`

// served counts what the lab's servers read: per connection, by the
// client's address, and per listener.
var served = &serverReads{conns: map[string]*atomic.Int64{}, listeners: map[string]*atomic.Int64{}}

type serverReads struct {
	mu        sync.Mutex
	conns     map[string]*atomic.Int64 // client "ip:port" -> its latest connection's bytes
	listeners map[string]*atomic.Int64 // listener address -> bytes of all its connections
}

// from is what the servers read from the connection of a client address
// (0 if they never accepted one).
func (s *serverReads) from(client string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.conns[client]; n != nil {
		return n.Load()
	}
	return 0
}

// at is what the server on a listener address read from all connections.
func (s *serverReads) at(listener string) int64 {
	return s.listener(listener).Load()
}

func (s *serverReads) listener(addr string) *atomic.Int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.listeners[addr]
	if n == nil {
		n = new(atomic.Int64)
		s.listeners[addr] = n
	}
	return n
}

// countReads makes a listener's connections count what their server reads.
func countReads(ln net.Listener) net.Listener { return countingListener{ln} }

type countingListener struct{ net.Listener }

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	n, total := new(atomic.Int64), served.listener(l.Addr().String())
	served.mu.Lock()
	served.conns[c.RemoteAddr().String()] = n
	served.mu.Unlock()
	return &countingConn{Conn: c, n: n, total: total}, nil
}

type countingConn struct {
	net.Conn
	n, total *atomic.Int64
}

func (c *countingConn) Read(b []byte) (int, error) {
	k, err := c.Conn.Read(b)
	c.n.Add(int64(k))
	c.total.Add(int64(k))
	return k, err
}

// verdicts is palisade_inspect_verdicts_total of a rule, summed over the
// reasons given (all of them if none).
func (il *inspectLab) verdicts(t *testing.T, rule string, reasons ...string) float64 {
	t.Helper()
	il.scrape(t, "palisade_inspect_verdicts_total") // one scrape, summed below
	if len(reasons) == 0 {
		return agenttest.SumMetric(il.last, "palisade_inspect_verdicts_total", rule)
	}
	var sum float64
	for _, r := range reasons {
		sum += agenttest.SumMetric(il.last, "palisade_inspect_verdicts_total", rule, `reason="`+r+`"`)
	}
	return sum
}

// waitVerdicts polls (100 ms) until the rule's count for the reasons is
// past before, for at most timeout; it returns how far past.
func (il *inspectLab) waitVerdicts(t *testing.T, timeout time.Duration, before float64, rule string, reasons ...string) float64 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		n := il.verdicts(t, rule, reasons...) - before
		if n > 0 || time.Now().After(deadline) {
			return n
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rawDial opens a TCP connection from the surrey host (src) to dst whose
// writes go out as they are made (TCP_NODELAY).
func (il *inspectLab) rawDial(t *testing.T, src, dst string) *net.TCPConn {
	t.Helper()
	c, err := il.dial("surrey", src, dst, 3*time.Second)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", dst, src, err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.SetNoDelay(true); err != nil {
		t.Fatal(err)
	}
	return c
}

// writeSlowly writes each part as its own segment, gap apart.
func writeSlowly(c *net.TCPConn, parts [][]byte, gap time.Duration) error {
	c.SetWriteDeadline(time.Now().Add(time.Duration(len(parts))*gap + 3*time.Second))
	for i, p := range parts {
		if i > 0 {
			time.Sleep(gap)
		}
		if _, err := c.Write(p); err != nil {
			return fmt.Errorf("write %d of %d: %w", i+1, len(parts), err)
		}
	}
	return nil
}

// split cuts b into n nearly equal parts.
func split(b []byte, n int) [][]byte {
	var parts [][]byte
	step := (len(b) + n - 1) / n
	for len(b) > 0 {
		k := min(step, len(b))
		parts = append(parts, b[:k])
		b = b[k:]
	}
	return parts
}

// sendState is what the client's TCP did with its bytes (TCP_INFO):
// segments sent and retransmitted, timeouts, what it never sent.
func sendState(c *net.TCPConn) string {
	raw, err := c.SyscallConn()
	if err != nil {
		return err.Error()
	}
	var ti *unix.TCPInfo
	raw.Control(func(fd uintptr) { ti, err = unix.GetsockoptTCPInfo(int(fd), unix.SOL_TCP, unix.TCP_INFO) })
	if err != nil {
		return err.Error()
	}
	caStates := []string{"open", "disorder", "cwr", "recovery", "loss"}
	ca := fmt.Sprint(ti.Ca_state)
	if int(ti.Ca_state) < len(caStates) {
		ca = caStates[ti.Ca_state]
	}
	return fmt.Sprintf("client TCP: %d data segments out, %d bytes sent, %d retransmitted, %d timeouts, cwnd %d, state %s, %d bytes not sent yet, rto %v",
		ti.Data_segs_out, ti.Bytes_sent, ti.Bytes_retrans, ti.Total_rto, ti.Snd_cwnd, ca, ti.Notsent_bytes, time.Duration(ti.Rto)*time.Microsecond)
}

// nothingBack says the connection gets no byte back within d.
func nothingBack(c net.Conn, d time.Duration) error {
	c.SetReadDeadline(time.Now().Add(d))
	var b [1]byte
	n, err := c.Read(b[:])
	if n > 0 {
		return fmt.Errorf("got %q back", b[:n])
	}
	if !refused(err) {
		return fmt.Errorf("read: %v, want a timeout", err)
	}
	return nil
}

// Clients that start a name and never finish it, or trickle it: the
// inspector holds every segment and refuses the flow when its time is up
// (or its segments are too many), so the server reads none of it. It used
// to pass the segments after the fourth: the server then had them. Run
// side by side, as each waits out the inspector's timeout.
//
//   - a TLS record and handshake header declaring a 16 KiB ClientHello,
//     and 14 KiB of it in seven writes, never finished;
//   - an HTTP request with bare-LF line endings naming a host not allowed,
//     in seven segments 150 ms apart;
//   - the same naming an allowed host. Nothing is acknowledged before the
//     verdict, so the client's retransmission timeout (200 ms at least)
//     fires before its last segments, and in loss recovery it sends no new
//     data: the name never completes and the flow is refused (timeout).
//     Asserted: the server reads all of the request or none of it. Whether
//     it was answered is logged.
func testStalled(t *testing.T, il *inspectLab) {
	cloudRefusals := []string{"timeout", "hold_bound"}
	cloudBefore := il.verdicts(t, cloudRule, cloudRefusals...)
	cloudTimeouts := il.verdicts(t, cloudRule, "timeout")
	intranetBefore := il.verdicts(t, intranetRule)
	refusedBefore := il.verdicts(t, intranetRule, "host_not_allowed", "timeout")

	type result struct {
		what   string
		sent   int
		read   int64
		answer string
		err    error
		tcp    string
	}
	results := make([]result, 3)
	conns := make([]*net.TCPConn, 3)
	var wg sync.WaitGroup
	start := time.Now()

	// The unfinished ClientHello.
	hello := []byte{0x16, 3, 1, 0x40, 0x00, 1, 0x00, 0x3f, 0xfc, 3, 3} // record of 16384, ClientHello of 16380
	hello = append(hello, make([]byte, 32)...)                         // random
	hello = append(hello, 0)                                           // no session id
	for len(hello) < 14<<10 {
		hello = append(hello, byte(len(hello))) // the rest: never decodable before its end
	}
	tc := il.rawDial(t, "198.18.1.10", cloud4)
	conns[0] = tc
	wg.Add(1)
	go func() {
		defer wg.Done()
		r := &results[0]
		r.what, r.sent = "unfinished 16 KiB ClientHello, 7 writes", len(hello)
		r.err = writeSlowly(tc, split(hello, 7), 100*time.Millisecond) // may stall: nothing acknowledged
		r.err = errors.Join(r.err, nothingBack(tc, 9*time.Second-time.Since(start)))
	}()

	for i, host := range []string{"evil.example", "intranet.psn.example"} {
		req := fmt.Sprintf("GET /slow HTTP/1.1\nHost: %s\nUser-Agent: palisade-lab\nAccept: */*\nConnection: close\n\n", host)
		hc := il.rawDial(t, "198.18.1.10", intranet)
		conns[1+i] = hc
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := &results[1+i]
			r.what, r.sent = "bare-LF request for "+host+", 7 segments 150 ms apart", len(req)
			if err := writeSlowly(hc, split([]byte(req), 7), 150*time.Millisecond); err != nil {
				r.err = err
			}
			hc.SetReadDeadline(start.Add(9 * time.Second))
			resp, err := io.ReadAll(hc)
			r.answer, r.err = strings.SplitN(string(resp), "\r\n", 2)[0], errors.Join(r.err, err)
		}()
	}

	// Decisions, polled here (one scraper): the ClientHello's refusal and
	// both requests'.
	var cloudN, intranetN float64
	var cloudAt time.Duration
	for deadline := start.Add(9 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if cloudN == 0 {
			if cloudN = il.verdicts(t, cloudRule, cloudRefusals...) - cloudBefore; cloudN > 0 {
				cloudAt = time.Since(start)
			}
		}
		if intranetN = il.verdicts(t, intranetRule) - intranetBefore; cloudN > 0 && intranetN >= 2 {
			break
		}
	}
	time.Sleep(300 * time.Millisecond) // anything released would be read by now
	refused := il.verdicts(t, intranetRule, "host_not_allowed", "timeout") - refusedBefore
	timedOut := il.verdicts(t, cloudRule, "timeout") > cloudTimeouts
	for i, c := range conns { // decided: no need to wait out the clients' deadlines
		results[i].tcp, results[i].read = sendState(c), served.from(c.LocalAddr().String())
		c.Close()
	}
	wg.Wait()

	for _, r := range results {
		t.Logf("%s: %d bytes sent, the server read %d, the client got %q (%v); %s", r.what, r.sent, r.read, r.answer, r.err, r.tcp)
	}
	reason := "hold_bound"
	if timedOut {
		reason = "timeout"
	}
	t.Logf("the unfinished ClientHello refused (%s) %v after its first write; the requests: %.0f decided, %.0f of them refused", reason, cloudAt.Round(10*time.Millisecond), intranetN, refused)
	if cloudN != 1 {
		t.Errorf("unfinished ClientHello: %.0f refusals for timeout or hold_bound, want 1", cloudN)
		il.dumpMetrics(t, "palisade_inspect_verdicts_total", "palisade_inspect_hold")
	}
	if r := results[0]; r.read != 0 {
		t.Errorf("the server read %d bytes of a ClientHello that never named anything; want 0", r.read)
	}
	if r := results[1]; r.read != 0 || r.answer != "" {
		t.Errorf("slow request for a host not allowed: the server read %d bytes, the client got %q; want nothing either way", r.read, r.answer)
	}
	if r := results[2]; r.read != 0 && r.read != int64(r.sent) {
		t.Errorf("slow request for an allowed host: the server read %d of its %d bytes; want all or none, never a part before the verdict", r.read, r.sent)
	} else if r.answer != "HTTP/1.1 200 OK" {
		t.Logf("NOTE: the slow request for an allowed host was not answered: it stalled before its name was complete (see its TCP state above)")
	}
	if intranetN < 2 || refused < 1 {
		t.Errorf("slow requests: %.0f decided, %.0f refused; want both decided, the one for evil.example refused", intranetN, refused)
	}
}

// An HTTP request with bare-LF line endings (which Go, nginx and Node
// accept) in seven segments, sent within the client's retransmission
// timeout: decided on its Host like any other. A host not allowed gets
// nothing to the server, an allowed one its answer.
func testBareLF(t *testing.T, il *inspectLab) {
	for _, c := range []struct {
		host   string
		allow  bool
		reason string
	}{
		{"evil.example", false, "host_not_allowed"},
		{"intranet.psn.example", true, "http_host"},
	} {
		before := il.verdicts(t, intranetRule, c.reason)
		req := fmt.Sprintf("GET /lf HTTP/1.1\nHost: %s\nUser-Agent: palisade-lab\nAccept: */*\nConnection: close\n\n", c.host)
		conn := il.rawDial(t, "198.18.1.10", intranet)
		if err := writeSlowly(conn, split([]byte(req), 7), 15*time.Millisecond); err != nil {
			t.Errorf("%s: %v", c.host, err)
			continue
		}
		conn.SetReadDeadline(time.Now().Add(1500 * time.Millisecond))
		resp, err := io.ReadAll(conn)
		status := strings.SplitN(string(resp), "\r\n", 2)[0]
		n := il.waitVerdicts(t, 2*time.Second, before, intranetRule, c.reason)
		read := served.from(conn.LocalAddr().String())
		t.Logf("bare-LF request for %s: %d bytes in 7 segments; the server read %d; the client got %q (%v); %s decisions %.0f; %s",
			c.host, len(req), read, status, err, c.reason, n, sendState(conn))
		if n != 1 {
			t.Errorf("%s: %.0f decisions for %s, want 1", c.host, n, c.reason)
		}
		switch {
		case c.allow && status != "HTTP/1.1 200 OK":
			t.Errorf("allowed host in a bare-LF request: got %q (%v), want the server's answer", status, err)
		case c.allow && read != int64(len(req)):
			t.Errorf("allowed host: the server read %d bytes, want the request's %d", read, len(req))
		case !c.allow && (read != 0 || len(resp) != 0):
			t.Errorf("refused host in a bare-LF request: the server read %d bytes, the client got %q; want nothing either way", read, resp)
		}
	}
}

// Requests servers could read for another host than the inspector would
// (an obs-folded Host, two Hosts, an absolute-form target and a Host that
// disagree), each naming an allowed host somewhere: refused, the server
// reads nothing. Sent at once, in three segments each.
func testHTTPAmbiguous(t *testing.T, il *inspectLab) {
	cases := []struct{ what, req, reason string }{
		{"obs-fold", "GET / HTTP/1.1\r\nHost: intranet.psn.example\r\n evil.example\r\nConnection: close\r\n\r\n", "http_obs_fold"},
		{"two Host headers", "GET / HTTP/1.1\r\nHost: intranet.psn.example\r\nHost: evil.example\r\nConnection: close\r\n\r\n", "malformed"},
		{"absolute-form target, another Host", "GET http://evil.example/ HTTP/1.1\r\nHost: intranet.psn.example\r\nConnection: close\r\n\r\n", "http_host_conflict"},
		{"obs-fold, bare LF", "GET / HTTP/1.1\nHost: intranet.psn.example\n\tevil.example\nConnection: close\n\n", "http_obs_fold"},
	}
	before, want := map[string]float64{}, map[string]float64{}
	for _, c := range cases {
		before[c.reason], want[c.reason] = il.verdicts(t, intranetRule, c.reason), want[c.reason]+1
	}
	var wg sync.WaitGroup
	for _, c := range cases {
		conn := il.rawDial(t, "198.18.1.10", intranet)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := writeSlowly(conn, split([]byte(c.req), 3), 20*time.Millisecond); err != nil {
				t.Errorf("%s: %v", c.what, err)
				return
			}
			back := nothingBack(conn, 1500*time.Millisecond)
			read := served.from(conn.LocalAddr().String())
			t.Logf("%s: the server read %d bytes", c.what, read)
			if back != nil || read != 0 {
				t.Errorf("%s: the server read %d bytes; client: %v; want nothing either way", c.what, read, back)
			}
		}()
	}
	wg.Wait()
	for reason, w := range want {
		if n := il.verdicts(t, intranetRule, reason) - before[reason]; n != w {
			t.Errorf("%.0f refusals for %s, want %.0f", n, reason, w)
		}
	}
}

// Real clients still connect to an allowed name (Go crypto/tls over IPv4
// and IPv6, its ClientHello also cut in three segments, curl, openssl
// s_client); the same tools naming another get nothing to the server.
func testRealClients(t *testing.T, il *inspectLab) {
	const name = "files.cloud.psn.example"
	if err := il.tlsExchange("surrey", "198.18.1.10", cloud4, name, 2, 0); err != nil {
		t.Errorf("go crypto/tls: %v", err)
	}
	if err := il.tlsExchange("surrey", "2001:db8:1::10", cloud6, name, 2, 0); err != nil {
		t.Errorf("go crypto/tls over IPv6: %v", err)
	}
	helloLen := len(captureHello(t, "three.cloud.psn.example"))
	before := il.verdicts(t, cloudRule, "sni")
	if err := il.tlsExchange("surrey", "198.18.1.10", cloud4, "three.cloud.psn.example", 2, (helloLen+2)/3); err != nil {
		t.Errorf("go crypto/tls, a %d-byte ClientHello in 3 segments: %v", helloLen, err)
	} else if n := il.verdicts(t, cloudRule, "sni") - before; n != 1 {
		t.Errorf("ClientHello in 3 segments: %.0f allowed by sni, want 1", n)
	}

	ca := il.tls.caFile(t)
	ns := il.gw.Orgs["surrey"].NS.Name
	for _, c := range []struct{ what, addr string }{{"curl", "198.19.20.30"}, {"curl over IPv6", "[2001:db8:20::30]"}} {
		out, err := curl(ns, ca, name, c.addr, "", 0)
		if err != nil || out != "cloud storage tenant\n" {
			t.Errorf("%s to %s: %q, %v", c.what, name, out, err)
		}
	}
	if out, err := sClient(ns, ca, name, 0, 4*time.Second); err != nil || !strings.Contains(out, "pong ping 0") {
		t.Errorf("openssl s_client -servername %s: %q, %v", name, out, err)
	}

	// The refused ones together: each waits out its deadline.
	var wg sync.WaitGroup
	for _, c := range []struct {
		what string
		run  func(port int) (string, error)
	}{
		{"curl naming evil.example", func(port int) (string, error) {
			return curl(ns, ca, "evil.example", "198.19.20.30", "198.18.1.10", port)
		}},
		{"openssl s_client -servername evil.example", func(port int) (string, error) {
			return sClient(ns, ca, "evil.example", port, 2*time.Second)
		}},
		{"openssl s_client -noservername", func(port int) (string, error) {
			return sClient(ns, ca, "", port, 2*time.Second)
		}},
	} {
		port := nextPort()
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := c.run(port)
			read := served.from(fmt.Sprintf("198.18.1.10:%d", port))
			t.Logf("%s: server read %d bytes; client: %v", c.what, read, err)
			if read != 0 || strings.Contains(out, "pong") || strings.Contains(out, "tenant") {
				t.Errorf("%s: the server read %d bytes, the client got %q; want nothing", c.what, read, out)
			}
		}()
	}
	wg.Wait()
}

var clientPorts atomic.Int32

// nextPort is a client port for the command-line clients, below the
// ephemeral range, so the server's count can be found by it.
func nextPort() int { return 21000 + int(clientPorts.Add(1)) }

// curl fetches https://name/ from addr (the fixture's HTTP answer), from
// the org host's namespace; with src, bound to src and port.
func curl(ns, ca, name, addr, src string, port int) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	args := []string{"netns", "exec", ns, "curl", "-sS", "--max-time", "2", "--cacert", ca,
		"--resolve", name + ":443:" + addr, "https://" + name + "/"}
	if src != "" {
		args = append(args, "--interface", src, "--local-port", fmt.Sprint(port))
	}
	var stderr strings.Builder
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// sClient runs openssl s_client to the cloud address from 198.18.1.10
// (port 0: any), naming sni ("" sends none), verifying the fixture's
// certificate; it sends "ping 0" and returns what came back once the
// answer is there or wait is over.
func sClient(ns, ca, sni string, port int, wait time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	args := []string{"netns", "exec", ns, "openssl", "s_client", "-connect", cloud4,
		"-bind", fmt.Sprintf("198.18.1.10:%d", port), "-CAfile", ca, "-verify_return_error", "-quiet"}
	if sni == "" {
		args = append(args, "-noservername")
	} else {
		args = append(args, "-servername", sni, "-verify_hostname", sni)
	}
	cmd := exec.CommandContext(ctx, "ip", args...)
	cmd.WaitDelay = time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return "", err
	}
	io.WriteString(stdin, "ping 0\n") // s_client sends it once the handshake is done
	var got strings.Builder
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		got.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "pong ping 0") {
			cancel()
			break
		}
	}
	stdin.Close()
	err = cmd.Wait()
	if strings.Contains(got.String(), "pong ping 0") {
		return got.String(), nil
	}
	return got.String(), fmt.Errorf("s_client: %v: %s", err, strings.TrimSpace(stderr.String()))
}

// A ClientHello naming an allowed tenant whose middle third is sent as
// urgent data (MSG_OOB: the URG flag): the service's stack would take the
// urgent byte out of the stream the inspector read, so the flow is
// refused (urgent_data) and the server reads nothing.
func testUrgent(t *testing.T, il *inspectLab) {
	before := il.verdicts(t, cloudRule, "urgent_data")
	allowed := il.verdicts(t, cloudRule, "sni")
	hello := captureHello(t, "urgent.cloud.psn.example")
	c := il.rawDial(t, "198.18.1.10", cloud4)
	parts := split(hello, 3)
	if _, err := c.Write(parts[0]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var sendErr error
	if err := raw.Write(func(fd uintptr) bool {
		sendErr = unix.Sendto(int(fd), parts[1], unix.MSG_OOB, nil)
		return sendErr != unix.EAGAIN
	}); err != nil || sendErr != nil {
		t.Fatalf("send with MSG_OOB: %v %v", err, sendErr)
	}
	time.Sleep(50 * time.Millisecond)
	if _, err := c.Write(parts[2]); err != nil {
		t.Fatal(err)
	}
	n := il.waitVerdicts(t, 3*time.Second, before, cloudRule, "urgent_data")
	time.Sleep(300 * time.Millisecond)
	read := served.from(c.LocalAddr().String())
	t.Logf("ClientHello (%d bytes) with its middle third urgent: %.0f urgent_data refusals, %.0f allowed; the server read %d bytes",
		len(hello), n, il.verdicts(t, cloudRule, "sni")-allowed, read)
	if n != 1 {
		t.Errorf("urgent data in an undecided flow: %.0f urgent_data refusals, want 1", n)
	}
	if read != 0 {
		t.Errorf("urgent data in an undecided flow: the server read %d bytes, want 0", read)
	}
	if err := nothingBack(c, 200*time.Millisecond); err != nil {
		t.Errorf("urgent data: %v", err)
	}
}
