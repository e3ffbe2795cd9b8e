package lab

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
)

// TestCloseRemovesNamespaces aborts a test halfway through building a lab,
// as a failing test would, and checks its cleanup removed everything.
func TestCloseRemovesNamespaces(t *testing.T) {
	var made []string
	reached := false
	t.Run("aborted", func(t *testing.T) {
		l := NewT(t)
		reached = true
		spec := StandardSpec()
		spec.Services[1].Addrs = append(spec.Services[1].Addrs, "not-an-address")
		_, err := NewGateway(l, spec)
		if err == nil {
			t.Fatal("NewGateway accepted a bad address")
		}
		made = l.Namespaces()
		t.SkipNow() // leaves through runtime.Goexit, exactly like t.Fatal
	})
	if !reached {
		t.Skip("no lab here, see the subtest")
	}
	if len(made) < 5 {
		t.Fatalf("only %d namespaces were made before the abort: %v", len(made), made)
	}
	for _, name := range made {
		if _, err := os.Stat(filepath.Join(netnsDir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("namespace %s survived the test's cleanup", name)
		}
	}
}

// TestCloseIsIdempotent closes a half-built lab twice.
func TestCloseIsIdempotent(t *testing.T) {
	l := NewT(t)
	a, err := l.NS("a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.ServeTCP("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := l.Close(); err != nil {
			t.Fatalf("close #%d: %v", i+1, err)
		}
	}
	if _, err := os.Stat(filepath.Join(netnsDir, a.Name)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("namespace %s still exists", a.Name)
	}
	if _, err := l.NS("b"); err == nil {
		t.Error("NS on a closed lab succeeded")
	}
}

// TestDo checks that Do runs in the namespace, passes fn's error back,
// re-raises its panic, and leaves the caller's thread where it was.
func TestDo(t *testing.T) {
	l := NewT(t)
	n, err := l.NS("do")
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Veth(n, "only-here", n, "only-here-peer"); err != nil {
		t.Fatal(err)
	}
	if _, err := n.Ifindex("only-here"); err != nil {
		t.Errorf("Ifindex inside the namespace: %v", err)
	}
	if _, err := net.InterfaceByName("only-here"); err == nil {
		t.Error("the namespace's link is visible outside Do")
	}
	sentinel := errors.New("sentinel")
	if err := n.Do(func() error { return sentinel }); err != sentinel {
		t.Errorf("Do returned %v, want fn's error", err)
	}
	defer func() {
		if r := recover(); r != "boom" {
			t.Errorf("recovered %v, want the panic from fn", r)
		}
	}()
	n.Do(func() error { panic("boom") })
}
