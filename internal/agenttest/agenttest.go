// Package agenttest runs the real palisaded and palisade binaries inside a
// lab namespace, for end-to-end tests and the demo: build once, start with a
// config of the test's own (and a pin path of its own), wait until the
// policy is published, kill, restart, and clean every pin up afterwards.
package agenttest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/palisade-psn/palisade/internal/lab"
	"github.com/palisade-psn/palisade/pkg/datapath"
)

// Config is the part of palisaded's config a test chooses.
type Config struct {
	Rules      string
	Interfaces []string
	Mode       datapath.Mode
	Forwarding bool
	Metrics    string // listen address inside the namespace, "" = off
	Extra      string // more YAML appended to the config file
}

// Agent is one palisaded process (restartable) in a namespace.
type Agent struct {
	NS      *lab.NS
	Bin     Binaries
	PinPath string
	CfgPath string
	Socket  string
	cmd     *exec.Cmd
	logs    *syncBuffer
	done    chan error
}

// Binaries are the built commands.
type Binaries struct{ Dir, Palisaded, Palisade string }

var (
	buildOnce sync.Once
	built     Binaries
	buildErr  error
)

// Build compiles palisaded and palisade once per process.
func Build() (Binaries, error) {
	buildOnce.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			buildErr = err
			return
		}
		dir, err := os.MkdirTemp("", "palisade-bin-")
		if err != nil {
			buildErr = err
			return
		}
		cmd := exec.Command("go", "build", "-o", dir+"/", "./cmd/palisaded", "./cmd/palisade")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		built = Binaries{Dir: dir, Palisaded: filepath.Join(dir, "palisaded"), Palisade: filepath.Join(dir, "palisade")}
	})
	return built, buildErr
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || len(bytes.TrimSpace(out)) == 0 {
		return "", fmt.Errorf("find module root: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

// New prepares an agent: config file and a unique pin path. Start runs it.
func New(ns *lab.NS, bin Binaries, cfg Config, dir string) (*Agent, error) {
	b := make([]byte, 4)
	rand.Read(b)
	a := &Agent{NS: ns, Bin: bin, PinPath: "/sys/fs/bpf/palisade-lab-" + hex.EncodeToString(b),
		CfgPath: filepath.Join(dir, "palisaded.yaml"), Socket: filepath.Join(dir, "palisaded.sock")}
	mode := cfg.Mode
	if mode == "" {
		mode = datapath.Native
	}
	text := fmt.Sprintf("rules: %s\ninterfaces: [%s]\nxdp_mode: %s\nforwarding: %v\npin_path: %s\nmetrics: %q\nsocket: %s\n%s",
		cfg.Rules, strings.Join(cfg.Interfaces, ", "), mode, cfg.Forwarding, a.PinPath, cfg.Metrics, a.Socket, cfg.Extra)
	text += stateIn(dir, cfg.Extra)
	return a, os.WriteFile(a.CfgPath, []byte(text), 0o600)
}

// stateIn keeps what the agent writes (flow log, audit log, captures) in
// the test's directory, not the host's /var, unless Extra sets it.
func stateIn(dir, extra string) string {
	var out string
	for key, val := range map[string]string{
		"audit_log":   filepath.Join(dir, "audit.log"),
		"state_dir":   filepath.Join(dir, "state"),
		"capture_dir": filepath.Join(dir, "captures"),
		"flow_log":    "{path: " + filepath.Join(dir, "flows.json") + "}",
	} {
		if !strings.Contains(extra, key+":") {
			out += key + ": " + val + "\n"
		}
	}
	return out
}

// Start runs palisaded and waits until it has published the policy (or
// reports that it kept the pinned one).
func (a *Agent) Start(timeout time.Duration) error {
	a.logs = &syncBuffer{}
	a.cmd = a.inNetns(a.Bin.Palisaded, "-config", a.CfgPath)
	a.cmd.Stdout, a.cmd.Stderr = a.logs, a.logs
	if err := a.cmd.Start(); err != nil {
		return fmt.Errorf("start palisaded: %w", err)
	}
	a.done = make(chan error, 1)
	go func(c *exec.Cmd, done chan error) { done <- c.Wait() }(a.cmd, a.done)
	deadline := time.After(timeout)
	for {
		if strings.Contains(a.logs.String(), "control API served") {
			return nil
		}
		select {
		case err := <-a.done:
			a.done <- err
			return fmt.Errorf("palisaded exited (%v):\n%s", err, a.logs.String())
		case <-deadline:
			return fmt.Errorf("palisaded not ready after %v:\n%s", timeout, a.logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Kill ends the agent with SIGKILL, as a crash would.
func (a *Agent) Kill() error { return a.signal(syscall.SIGKILL) }

// Stop ends the agent with SIGTERM, as systemd would.
func (a *Agent) Stop() error { return a.signal(syscall.SIGTERM) }

// Reload sends SIGHUP.
func (a *Agent) Reload() error { return a.cmd.Process.Signal(syscall.SIGHUP) }

func (a *Agent) signal(s syscall.Signal) error {
	if a.cmd == nil || a.cmd.Process == nil {
		return nil
	}
	// nsenter execs the agent, so the process is palisaded itself.
	_ = a.cmd.Process.Signal(s)
	select {
	case <-a.done:
	case <-time.After(10 * time.Second):
		_ = a.cmd.Process.Kill()
		return fmt.Errorf("palisaded did not exit after %v", s)
	}
	a.cmd = nil
	return nil
}

// Logs is what the agent has printed so far.
func (a *Agent) Logs() string { return a.logs.String() }

// CLI runs `palisade --pin-path <agent's> args...` in the agent's namespace.
func (a *Agent) CLI(args ...string) (string, error) {
	out, err := a.inNetns(a.Bin.Palisade, append([]string{"--pin-path", a.PinPath, "--socket", a.Socket}, args...)...).CombinedOutput()
	return string(out), err
}

// inNetns runs a command in the namespace's network only. `ip netns exec`
// would also give it a mount namespace with a fresh /sys, where bpffs is
// not mounted: pins made there would vanish with the process, and the
// boundary with them. A gateway's agent shares the host's bpffs; so does
// this one.
func (a *Agent) inNetns(name string, args ...string) *exec.Cmd {
	full := append([]string{"--net=/run/netns/" + a.NS.Name, name}, args...)
	return exec.Command("nsenter", full...)
}

// Close kills the agent if it runs, detaches and removes its pinned state.
func (a *Agent) Close() error {
	_ = a.Kill()
	return datapath.Clean(a.PinPath)
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// StartT starts an agent for a test: its config and state in the test's
// temporary directory, its logs printed if the test fails, and everything
// it pinned removed when the test ends.
func StartT(t testing.TB, ns *lab.NS, bin Binaries, cfg Config) *Agent {
	t.Helper()
	a, err := New(ns, bin, cfg, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("agent logs:\n%s", a.Logs())
		}
		if err := a.Close(); err != nil {
			t.Errorf("clean up agent: %v", err)
		}
	})
	// Generous: on a loaded CI machine loading and verifying takes time.
	if err := a.Start(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	return a
}
