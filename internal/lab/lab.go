package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// netnsDir is where `ip netns` keeps its bind-mounted namespace handles.
const netnsDir = "/run/netns"

// cmdTimeout bounds every ip/ethtool/sysctl invocation: a hung helper must
// fail the setup, not the whole test binary.
const cmdTimeout = 10 * time.Second

// Lab owns every namespace it creates and every echo server started in them.
type Lab struct {
	prefix string // prefix+random, shared by all namespaces of this lab

	mu     sync.Mutex
	ns     []*NS
	stops  []func()
	closed bool
}

// New makes an empty lab whose namespaces will be named prefix+random+"-"+role.
func New(prefix string) (*Lab, error) {
	for range 5 {
		suffix, err := randomHex(2)
		if err != nil {
			return nil, fmt.Errorf("lab name suffix: %w", err)
		}
		p := prefix + suffix
		// A leftover namespace with this stem (another lab, a crashed run)
		// would make names ambiguous; draw again.
		if m, _ := filepath.Glob(filepath.Join(netnsDir, p+"-*")); len(m) == 0 {
			return &Lab{prefix: p}, nil
		}
	}
	return nil, fmt.Errorf("lab: no free namespace prefix for %q after 5 tries", prefix)
}

// NewT makes a lab for a test, skipping the test when it cannot run (not
// root, no ip(8)), and removing the lab when the test ends however it ends.
func NewT(t testing.TB) *Lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("lab: needs root to create network namespaces")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("lab: needs iproute2 (ip) in PATH")
	}
	l, err := New("pt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("lab close: %v", err)
		}
	})
	return l
}

// NS creates a namespace for role, brings its loopback up and returns it.
func (l *Lab) NS(role string) (*NS, error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, errors.New("lab: NS on a closed lab")
	}
	n := &NS{Name: l.prefix + "-" + role, lab: l}
	// Recorded before creation so Close also removes a half-made namespace.
	l.ns = append(l.ns, n)
	l.mu.Unlock()

	if _, err := run(context.Background(), "ip", "netns", "add", n.Name); err != nil {
		return nil, fmt.Errorf("create namespace %s: %w", n.Name, err)
	}
	if err := n.ip("link", "set", "lo", "up"); err != nil {
		return nil, fmt.Errorf("bring lo up in %s: %w", n.Name, err)
	}
	return n, nil
}

// Veth joins a and b with a veth pair named aName in a and bName in b, both
// up. The ends are created directly inside their namespaces, so the names
// only need to be unique (and at most 15 bytes) within each namespace.
func (l *Lab) Veth(a *NS, aName string, b *NS, bName string) error {
	if err := a.ip("link", "add", aName, "type", "veth", "peer", "name", bName, "netns", b.Name); err != nil {
		return fmt.Errorf("veth %s/%s <-> %s/%s: %w", a.Name, aName, b.Name, bName, err)
	}
	if err := a.ip("link", "set", aName, "up"); err != nil {
		return fmt.Errorf("bring %s up in %s: %w", aName, a.Name, err)
	}
	if err := b.ip("link", "set", bName, "up"); err != nil {
		return fmt.Errorf("bring %s up in %s: %w", bName, b.Name, err)
	}
	return nil
}

// Close stops the lab's echo servers and deletes its namespaces, which also
// destroys every link inside them. It is safe to call more than once.
func (l *Lab) Close() error {
	l.mu.Lock()
	l.closed = true
	stops, nss := l.stops, l.ns
	l.stops, l.ns = nil, nil
	l.mu.Unlock()

	for _, stop := range stops {
		stop()
	}
	var errs []error
	for i := len(nss) - 1; i >= 0; i-- {
		name := nss[i].Name
		if _, err := os.Stat(filepath.Join(netnsDir, name)); errors.Is(err, os.ErrNotExist) {
			continue // never created, or already gone
		}
		if _, err := run(context.Background(), "ip", "netns", "del", name); err != nil {
			errs = append(errs, fmt.Errorf("delete namespace %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// Namespaces lists the names of the namespaces this lab has made so far.
func (l *Lab) Namespaces() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	names := make([]string, 0, len(l.ns))
	for _, n := range l.ns {
		names = append(names, n.Name)
	}
	return names
}

// onClose registers a function Close runs before deleting namespaces, so a
// server's lifetime is bounded by its lab's. On a closed lab it runs now.
func (l *Lab) onClose(stop func()) {
	l.mu.Lock()
	if !l.closed {
		l.stops = append(l.stops, stop)
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	stop()
}

// run executes a helper command with a bounded lifetime and puts its
// combined output in the error, since ip(8) explains failures only there.
func run(ctx context.Context, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("%s %v: %w: %s", name, args, err, bytesTrim(out))
	}
	return out, nil
}

// bytesTrim keeps error messages readable when a helper prints a lot.
func bytesTrim(b []byte) string {
	const max = 512
	s := strings.TrimSpace(string(b))
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}

func randomHex(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
