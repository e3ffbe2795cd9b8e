// Package inspection measures part 5: the NFQUEUE inspector of flagged
// flows, driven as it runs in production: the real palisaded in a lab
// gateway (internal/lab's standard topology and rules/), real TLS clients
// in an organisation's namespace, a TLS server behind the gateway.
package inspection

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/palisade-psn/palisade/bench/internal/results"
	"github.com/palisade-psn/palisade/internal/agenttest"
	"github.com/palisade-psn/palisade/internal/lab"
	"github.com/palisade-psn/palisade/pkg/datapath"
)

// The inspected service and the rule that flags it (rules/services.yaml),
// the client host of the standard lab, and an allowed TLS name.
const (
	service    = "198.19.20.30:443"
	serviceNet = "198.19.20.30/24"
	rule       = "surrey-cc/cloud-storage"
	host       = "surrey"
	source     = "198.18.1.10"
	sni        = "files.cloud.psn.example"
	metricsAt  = "127.0.0.1:9469"
)

// Config sizes the measurement.
type Config struct {
	Load    time.Duration // how long the clients open flows for the rate
	Flood   time.Duration // how long the SYN flood lasts
	Clients int           // clients opening flows in parallel
	FlowKB  int           // bytes the server sends on each flow whose share is measured
	// ShareFlows is how many flows each way of sending the ClientHello
	// (shareCases) is measured over.
	ShareFlows int
	Log        *slog.Logger
}

// Measure runs part 5. A missing prerequisite (go toolchain to build the
// agent, nsenter, nft) gives a result with Absent set, not an error.
func Measure(ctx context.Context, cfg Config) (*results.Inspection, error) {
	out := &results.Inspection{Rule: rule, LoadSeconds: cfg.Load.Seconds(), Clients: cfg.Clients, FlowBytes: cfg.FlowKB << 10}
	defer func() {
		if out.Absent != "" && cfg.Log != nil {
			cfg.Log.Warn("part 5 skipped", "reason", out.Absent)
		}
	}()
	for _, t := range []string{"go", "nsenter", "nft"} {
		if _, err := exec.LookPath(t); err != nil {
			out.Absent = fmt.Sprintf("%s not found: the lab agent cannot be built or run", t)
			return out, nil
		}
	}
	bins, err := agenttest.Build()
	if err != nil {
		out.Absent = "cannot build palisaded: " + firstLine(err.Error())
		return out, nil
	}
	root, err := moduleRoot()
	if err != nil {
		out.Absent = err.Error()
		return out, nil
	}
	l, err := lab.New("pb")
	if err != nil {
		return nil, err
	}
	defer l.Close()
	gw, err := lab.NewGateway(l, lab.StandardSpec())
	if err != nil {
		return nil, fmt.Errorf("lab gateway: %w", err)
	}
	svc := gw.Services["svcB"].NS
	if err := svc.Addr("eth0", serviceNet); err != nil {
		return nil, err
	}
	srv, err := newServer(svc)
	if err != nil {
		return nil, err
	}
	defer srv.close()
	dir, err := os.MkdirTemp("", "palisade-bench-agent-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	a, err := agenttest.New(gw.GW, bins, agenttest.Config{Rules: filepath.Join(root, "rules"), Interfaces: gw.GWIfs,
		Mode: datapath.Native, Forwarding: true, Metrics: metricsAt}, dir)
	if err != nil {
		return nil, err
	}
	defer a.Close()
	if err := a.Start(60 * time.Second); err != nil {
		return nil, fmt.Errorf("start the lab agent: %w", err)
	}
	pid, err := agentPID(a.CfgPath)
	if err != nil {
		return nil, err
	}
	c := &client{gw: gw, tls: srv.clientConfig()}
	m := &agent{gw: gw, pid: pid}
	// A first flow checks the path, and warms it.
	if _, err := c.flow(0); err != nil {
		return nil, fmt.Errorf("a flagged TLS flow through the lab gateway: %w", err)
	}
	if err := shares(ctx, c, m, cfg, out); err != nil {
		return nil, err
	}
	if err := rate(ctx, c, m, cfg, out); err != nil {
		return nil, err
	}
	if err := flood(ctx, m, cfg.Flood, out); err != nil {
		return nil, err
	}
	return out, nil
}

// rate keeps cfg.Clients clients opening flagged flows (handshake, one
// exchange, close) for cfg.Load and relates the packets the inspector
// handled to the CPU time the agent used meanwhile.
func rate(ctx context.Context, c *client, m *agent, cfg Config, out *results.Inspection) error {
	var flows, failed atomic.Uint64
	w, err := m.measure(func() error {
		start := time.Now()
		var wg sync.WaitGroup
		for range cfg.Clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for time.Since(start) < cfg.Load && ctx.Err() == nil {
					if _, err := c.flow(0); err != nil {
						failed.Add(1)
						continue
					}
					flows.Add(1)
				}
			}()
		}
		wg.Wait()
		return nil
	})
	if err != nil {
		return err
	}
	before, after, wall := w.before, w.after, w.wall
	out.Flows, out.FailedFlows = flows.Load(), failed.Load()
	out.Packets = uint64(after.queued - before.queued)
	out.KernelPackets = after.kernel - before.kernel
	out.AgentCPUSeconds = w.cpu.Seconds()
	out.WallSeconds = wall.Seconds()
	out.CallbackSeconds = after.callbackSec - before.callbackSec
	if out.AgentCPUSeconds > 0 {
		out.PpsPerCore = float64(out.Packets) / out.AgentCPUSeconds
	}
	if out.CallbackSeconds > 0 {
		out.CallbackPps = float64(after.callbackN-before.callbackN) / out.CallbackSeconds
	}
	out.Pps = float64(out.Packets) / out.WallSeconds
	out.SingleVerdicts = uint64(after.single - before.single)
	out.BatchVerdicts = uint64(after.batch - before.batch)
	if msgs := out.SingleVerdicts + out.BatchVerdicts; msgs > 0 {
		out.PacketsPerMsg = float64(out.Packets) / float64(msgs)
	}
	return ctx.Err()
}

type client struct {
	gw  *lab.Gateway
	tls *tls.Config
}

// flow opens a TLS connection from the organisation's host to the
// inspected service and asks for n bytes; it returns how many came.
func (c *client) flow(n int) (int, error) {
	f, err := c.flowSplit(n, 0)
	return f.received, err
}

// flowDone is what the client saw of one flow.
type flowDone struct {
	received   int
	helloBytes int    // the ClientHello record
	mss        int    // the socket's send MSS
	retrans    uint64 // segments the client's kernel sent again
}

// flowSplit is flow with the ClientHello written in pieces writes (none
// when pieces < 2), splitPause apart.
func (c *client) flowSplit(n, pieces int) (flowDone, error) {
	var f flowDone
	h := c.gw.Orgs[host]
	var conn net.Conn
	err := h.NS.Do(func() (err error) {
		d := net.Dialer{Timeout: 3 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(source)}}
		conn, err = d.Dial("tcp", service)
		return err
	})
	if err != nil {
		return f, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	sc := &splitConn{Conn: conn, pieces: pieces}
	tc := tls.Client(sc, c.tls)
	if _, err := fmt.Fprintf(tc, "%d\n", n); err != nil {
		return f, err
	}
	got, err := io.Copy(io.Discard, tc)
	if err == nil && int(got) != n {
		err = fmt.Errorf("got %d bytes, want %d", got, n)
	}
	f.received, f.helloBytes = int(got), sc.hello
	if info, ierr := tcpInfo(conn); ierr == nil {
		f.mss, f.retrans = int(info.Snd_mss), uint64(info.Total_retrans)
	} else if err == nil {
		err = ierr
	}
	return f, err
}

type server struct {
	ln    net.Listener
	cfg   *tls.Config
	roots *x509.CertPool
	wg    sync.WaitGroup
}

// newServer serves the inspected address on svc: each connection sends a
// byte count, gets that many bytes, and is closed.
func newServer(svc *lab.NS) (*server, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cloud.psn.example"},
		DNSNames: []string{"*.cloud.psn.example"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, _ := x509.ParseCertificate(der)
	s := &server{cfg: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, roots: x509.NewCertPool()}
	s.roots.AddCert(cert)
	if err := svc.Do(func() (err error) { s.ln, err = net.Listen("tcp", service); return err }); err != nil {
		return nil, err
	}
	s.wg.Add(1)
	go s.accept()
	return s, nil
}

func (s *server) clientConfig() *tls.Config {
	return &tls.Config{ServerName: sni, RootCAs: s.roots}
}

func (s *server) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			tc := tls.Server(c, s.cfg)
			line, err := bufio.NewReader(tc).ReadString('\n')
			if err != nil {
				return
			}
			n, err := strconv.Atoi(strings.TrimSpace(line))
			if err != nil || n < 0 || n > 64<<20 {
				return
			}
			buf := make([]byte, 16<<10)
			for n > 0 {
				k := min(n, len(buf))
				if _, err := tc.Write(buf[:k]); err != nil {
					return
				}
				n -= k
			}
			tc.Close()
		}()
	}
}

func (s *server) close() {
	s.ln.Close()
	s.wg.Wait()
}

// agent is the lab agent: its gateway (for its metrics) and its process
// (for its CPU time and its namespace's queue counters).
type agent struct {
	gw  *lab.Gateway
	pid int
}

// window is the agent's metrics and CPU time around a load.
type window struct {
	before, after scraped
	cpu, wall     time.Duration
}

// measure runs load and reads the agent's metrics and CPU time around it.
func (a *agent) measure(load func() error) (w window, err error) {
	if w.before, err = a.scrape(); err != nil {
		return w, err
	}
	cpu0, err := processCPU(a.pid)
	if err != nil {
		return w, err
	}
	start := time.Now()
	if err := load(); err != nil {
		return w, err
	}
	w.wall = time.Since(start)
	cpu1, err := processCPU(a.pid)
	if err != nil {
		return w, err
	}
	w.cpu = cpu1 - cpu0
	w.after, err = a.scrape()
	return w, err
}

type scraped struct {
	hits, queued, held, callbackSec, callbackN, single, batch, queueFull, socketFull float64
	decisionSec, decisionN                                                           float64
	kernel                                                                           uint64 // packets the kernel's queues handed to the agent
}

// scrape reads the agent's metrics from inside the gateway's namespace,
// and the kernel's queue counters there.
func (a *agent) scrape() (scraped, error) {
	body, err := a.gw.GW.HTTPGet(metricsAt, "/metrics", 5*time.Second)
	if err != nil {
		return scraped{}, fmt.Errorf("scrape the lab agent's metrics: %w", err)
	}
	k, err := queueHanded(a.pid)
	if err != nil {
		return scraped{}, err
	}
	return scraped{
		hits:        agenttest.SumMetric(body, "palisade_rule_hits_total", `rule="`+rule+`"`),
		queued:      agenttest.SumMetric(body, "palisade_inspect_packets_total"),
		held:        agenttest.SumMetric(body, "palisade_inspect_packets_total", `action="hold"`),
		callbackSec: agenttest.SumMetric(body, "palisade_inspect_packet_seconds_sum"),
		callbackN:   agenttest.SumMetric(body, "palisade_inspect_packet_seconds_count"),
		single:      agenttest.SumMetric(body, "palisade_inspect_verdict_messages_total", `kind="single"`),
		batch:       agenttest.SumMetric(body, "palisade_inspect_verdict_messages_total", `kind="batch"`),
		queueFull:   agenttest.SumMetric(body, "palisade_inspect_queue_drops_total", `cause="full"`),
		socketFull:  agenttest.SumMetric(body, "palisade_inspect_queue_drops_total", `cause="user"`),
		decisionSec: agenttest.SumMetric(body, "palisade_inspect_decision_seconds_sum"),
		decisionN:   agenttest.SumMetric(body, "palisade_inspect_decision_seconds_count"),
		kernel:      k,
	}, nil
}

// agentPID finds the palisaded process run with cfgPath (nsenter execs it
// in its own place, so it is the process whose command line names it).
func agentPID(cfgPath string) (int, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		args := strings.Split(string(b), "\x00")
		if len(args) > 0 && filepath.Base(args[0]) == "palisaded" && strings.Contains(string(b), cfgPath) {
			return pid, nil
		}
	}
	return 0, errors.New("the lab agent's process is not found")
}

// processCPU is a process's user and system CPU time, all its threads.
func processCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// clockTicks is USER_HZ, 100 on every Linux architecture Go supports.
const clockTicks = 100

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || len(strings.TrimSpace(string(out))) == 0 || strings.TrimSpace(string(out)) == os.DevNull {
		return "", fmt.Errorf("find the module root (for rules/): %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}
