package lab

import (
	"bufio"
	"context"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// checkTagged wants frames src>dst and dst>src in a `tcpdump -e` listing,
// all carrying vlan (or no tag for 0).
func checkTagged(t *testing.T, dump, src, dst string, vlan int) {
	t.Helper()
	var out, back int
	for _, line := range strings.Split(dump, "\n") {
		tagged := strings.Contains(line, "vlan ")
		if (vlan == 0 && tagged) || (vlan != 0 && !strings.Contains(line, "vlan "+strconv.Itoa(vlan)+",")) {
			t.Errorf("%s <-> %s: want vlan %d, got frame: %s", src, dst, vlan, line)
		}
		if strings.Contains(line, "> "+src+".") {
			back++
		} else if strings.Contains(line, " "+src+".") {
			out++
		}
	}
	if out == 0 || back == 0 {
		t.Errorf("%s <-> %s: want frames both ways, saw %d out, %d back:\n%s", src, dst, out, back, dump)
	}
}

// startCapture runs tcpdump on ifname in n until the returned stop is
// called. stop waits (up to 2s) until the listing contains want, since a
// busy tcpdump may not have printed the last frames yet, then returns it.
func startCapture(t *testing.T, n *NS, ifname, filter string) (stop func(want string) string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", n.Name,
		"tcpdump", "--immediate-mode", "-l", "-nn", "-e", "-i", ifname, filter)
	stdout := &lockedBuffer{}
	cmd.Stdout = stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Skipf("tcpdump: %v", err)
	}
	// tcpdump says "listening on" once its socket and filter are in place.
	ready := make(chan struct{})
	go func() {
		lines := bufio.NewScanner(stderr)
		for lines.Scan() {
			if strings.HasPrefix(lines.Text(), "listening on") {
				close(ready)
				break
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		cancel()
		cmd.Wait()
		t.Fatal("tcpdump did not start within 5s")
	}
	return func(want string) string {
		for i := 0; i < 100 && !strings.Contains(stdout.String(), want); i++ {
			time.Sleep(20 * time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond) // frames right after want
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
		cancel()
		return strings.TrimSpace(stdout.String())
	}
}

// lockedBuffer lets the test read tcpdump's output while exec writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
