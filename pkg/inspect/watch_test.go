package inspect

import (
	"context"
	"io"
	"log/slog"
	"os/exec"
	"slices"
	"testing"

	"github.com/palisade-psn/palisade/internal/lab"
)

// The queue path in a namespace of its own: installed whole, then each
// part taken away as a firewall reload or an operator would (the mangle
// table flushed, the jump deleted, the blackhole rule deleted), and one
// check puts each back, counted by part, with doctor's check agreeing.
// The watcher's goroutines are not started here (they would run outside
// the namespace); check is what they call.
func TestWatcherRestores(t *testing.T) {
	if _, err := exec.LookPath("iptables-save"); err != nil {
		t.Skip("needs iptables")
	}
	ns, err := lab.NewT(t).NS("qpath")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	q := Queues{First: 4300, N: 1}
	m := newMetrics()
	var w *watcher
	do := func(what string, fn func() error) {
		t.Helper()
		if err := ns.Do(fn); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	do("install", func() (err error) {
		if err = install(ctx, q.runningRules()); err != nil {
			return err
		}
		w, err = newWatcher(ctx, q.runningRules(), m, slog.New(slog.NewTextHandler(io.Discard, nil)))
		return err
	})
	t.Cleanup(func() {
		if w.gen != nil {
			w.gen.Close()
		}
	})
	missing := func() []string {
		t.Helper()
		var out []string
		do("check queue path", func() (err error) { out, err = CheckQueuePath(ctx); return err })
		return out
	}
	if got := missing(); len(got) != 0 {
		t.Fatalf("freshly installed, missing %v", got)
	}
	do("first check", func() error { w.check(ctx); return nil })
	if s := w.State(); !s.Intact || s.Restorations != 0 {
		t.Fatalf("intact path: %+v", s)
	}

	for _, c := range []struct {
		name  string
		cmds  [][]string
		parts [][2]string // family, part restored
	}{
		{"mangle flushed", [][]string{{"iptables", "-w", "-t", "mangle", "-F"}, {"ip6tables", "-w", "-t", "mangle", "-F"}},
			[][2]string{{"ipv4", "chain"}, {"ipv4", "jump"}, {"ipv6", "chain"}, {"ipv6", "jump"}}},
		{"jump deleted", [][]string{append([]string{"ip6tables", "-w", "-t", "mangle", "-D"}, jumpRule()...)},
			[][2]string{{"ipv6", "jump"}}},
		{"chain rule deleted", [][]string{{"iptables", "-w", "-t", "mangle", "-D", Chain, "1"}},
			[][2]string{{"ipv4", "chain"}}},
		{"blackhole deleted", [][]string{append([]string{"ip"}, blackholeArgs("del", "-6")...)},
			[][2]string{{"ipv6", "blackhole"}}},
	} {
		before := map[[2]string]float64{}
		for _, p := range c.parts {
			before[p] = value(m.pathRestored.WithLabelValues(p[0], p[1]))
		}
		for _, cmd := range c.cmds {
			if out, err := ns.Exec(ctx, cmd[0], cmd[1:]...); err != nil {
				t.Fatalf("%s: %v: %s", c.name, err, out)
			}
		}
		gone := missing()
		for _, p := range c.parts {
			if !slices.Contains(gone, p[0]+" "+p[1]) && p[1] != "chain" {
				t.Errorf("%s: doctor's check did not see %v missing: %v", c.name, p, gone)
			}
		}
		do("check", func() error { w.check(ctx); return nil })
		for _, p := range c.parts {
			if got := value(m.pathRestored.WithLabelValues(p[0], p[1])); got != before[p]+1 {
				t.Errorf("%s: restored{%s,%s} went %v -> %v, want +1", c.name, p[0], p[1], before[p], got)
			}
		}
		if got := missing(); len(got) != 0 {
			t.Errorf("%s: after the check still missing %v", c.name, got)
		}
		do("second check", func() error { w.check(ctx); return nil })
		if s := w.State(); !s.Intact {
			t.Errorf("%s: state after restoring %+v", c.name, s)
		}
	}
	if s := w.State(); s.Restorations != 7 {
		t.Errorf("restorations %d, want 7", s.Restorations)
	}
	var save []byte
	do("save", func() (err error) { save, err = output(ctx, "", "iptables-save", "-t", nfTable); return err })
	if got := chainLines(string(save)); !slices.Equal(got, w.want["iptables"]) {
		t.Errorf("chain after restores:\n%v\nwant\n%v", got, w.want["iptables"])
	}
}
