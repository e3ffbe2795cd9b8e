package inspect

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// watchEvery is how often the queue path is checked without an event: a
// generation query and two rule dumps over netlink, no process started
// unless nf_tables changed since the last check.
const watchEvery = 250 * time.Millisecond

// QueuePathState is what the watcher last found of the queue path.
type QueuePathState struct {
	// Intact: every part was there (or put back) at the last check.
	Intact bool `json:"intact"`
	// Missing are the parts it could not put back ("ipv4 chain", "ipv6
	// jump", "ipv4 blackhole"), with the error.
	Missing []string `json:"missing,omitempty"`
	// Restorations counts the parts put back since the agent started.
	Restorations uint64    `json:"restorations"`
	LastRestored time.Time `json:"last_restored,omitzero"`
	LastChecked  time.Time `json:"last_checked,omitzero"`
}

// pathPart is one piece of the queue path in one family.
type pathPart struct{ family, part string }

func (p pathPart) String() string { return p.family + " " + p.part }

// watcher keeps the queue path as installed: on a timer and whenever
// nf_tables or the policy routing rules change, it checks every part and
// puts back what is missing.
type watcher struct {
	rules []string
	want  map[string][]string // per iptables family: the chain as iptables-save printed it once installed
	gen   *netlink.Conn       // nf_tables generation queries; nil with the legacy backend
	last  uint32              // generation at the last intact check
	valid bool
	m     *Metrics
	log   *slog.Logger

	mu    sync.Mutex
	state QueuePathState
}

func newWatcher(ctx context.Context, rules []string, m *Metrics, log *slog.Logger) (*watcher, error) {
	w := &watcher{rules: rules, want: map[string][]string{}, m: m, log: log, state: QueuePathState{Intact: true}}
	for _, fam := range families {
		save, err := output(ctx, "", fam+"-save", "-t", nfTable)
		if err != nil {
			return nil, err
		}
		w.want[fam] = chainLines(string(save))
	}
	if nftBackend(ctx) {
		c, err := netlink.Dial(unix.NETLINK_NETFILTER, nil)
		if err != nil {
			return nil, fmt.Errorf("nf_tables generation: %w", err)
		}
		w.gen = c
	}
	m.pathIntact.Set(1)
	return w, nil
}

// nftBackend says iptables writes nf_tables (iptables-nft): then a
// ruleset generation tells whether anything changed.
func nftBackend(ctx context.Context) bool {
	out, err := output(ctx, "", "iptables", "-V")
	return err == nil && strings.Contains(string(out), "nf_tables")
}

// run checks until ctx ends.
func (w *watcher) run(ctx context.Context) {
	wake := make(chan struct{}, 1)
	for _, l := range []struct {
		family int
		groups []uint32
	}{
		{unix.NETLINK_NETFILTER, []uint32{unix.NFNLGRP_NFTABLES}},
		{unix.NETLINK_ROUTE, []uint32{unix.RTNLGRP_IPV4_RULE, unix.RTNLGRP_IPV6_RULE}},
	} {
		if err := listen(ctx, l.family, l.groups, wake); err != nil {
			w.log.Warn("inspect: queue path events unavailable; checking on the timer only", "err", err)
		}
	}
	t := time.NewTicker(watchEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if w.gen != nil {
				w.gen.Close()
			}
			return
		case <-t.C:
		case <-wake:
		}
		w.check(ctx)
	}
}

// listen wakes the watcher on every message of the multicast groups.
func listen(ctx context.Context, family int, groups []uint32, wake chan<- struct{}) error {
	c, err := netlink.Dial(family, nil)
	if err != nil {
		return err
	}
	for _, g := range groups {
		if err := c.JoinGroup(g); err != nil {
			c.Close()
			return err
		}
	}
	go func() {
		<-ctx.Done()
		c.Close()
	}()
	go func() {
		for ctx.Err() == nil {
			if _, err := c.Receive(); err != nil && ctx.Err() == nil {
				time.Sleep(watchEvery) // ENOBUFS after a burst: the timer catches up
			}
			select {
			case wake <- struct{}{}:
			default:
			}
		}
	}()
	return nil
}

// check finds missing parts and puts them back, counting each.
func (w *watcher) check(ctx context.Context) {
	gen, genErr := w.generation()
	missing, err := w.missing(ctx, genErr == nil && w.valid && gen == w.last)
	var left []string
	for _, p := range missing {
		if rerr := w.restore(ctx, p); rerr != nil {
			left = append(left, fmt.Sprintf("%s: %v", p, rerr))
			continue
		}
		w.m.pathRestored.WithLabelValues(p.family, p.part).Inc()
		w.log.Warn("inspect: queue path part was missing; restored", "part", p.String())
	}
	if err != nil {
		left = append(left, err.Error())
	}
	w.valid = genErr == nil && len(missing) == 0 && err == nil
	w.last = gen
	w.mu.Lock()
	defer w.mu.Unlock()
	now := time.Now()
	w.state.LastChecked, w.state.Missing, w.state.Intact = now, left, len(left) == 0
	if n := len(missing) - len(left); n > 0 {
		w.state.Restorations += uint64(n)
		w.state.LastRestored = now
	}
	w.m.pathIntact.Set(map[bool]float64{true: 1, false: 0}[w.state.Intact])
}

func (w *watcher) generation() (uint32, error) {
	if w.gen == nil {
		return 0, fmt.Errorf("legacy iptables: no generation")
	}
	return nftGeneration(w.gen)
}

// missing lists the parts not in place; with chainsUnchanged (nf_tables
// has not changed since they were last found intact) only the blackhole
// rules are read.
func (w *watcher) missing(ctx context.Context, chainsUnchanged bool) ([]pathPart, error) {
	var out []pathPart
	for _, f := range blackholeFamilies {
		ok, err := blackholePresent(f.af)
		if err != nil {
			return out, err
		}
		if !ok {
			out = append(out, pathPart{f.name, "blackhole"})
		}
	}
	if chainsUnchanged {
		return out, nil
	}
	for _, fam := range families {
		save, err := output(ctx, "", fam+"-save", "-t", nfTable)
		if err != nil {
			return out, err
		}
		if !equalLines(chainLines(string(save)), w.want[fam]) {
			out = append(out, pathPart{familyName(fam), "chain"})
		}
		if !hasJump(string(save)) {
			out = append(out, pathPart{familyName(fam), "jump"})
		}
	}
	return out, nil
}

func (w *watcher) restore(ctx context.Context, p pathPart) error {
	fam := "iptables"
	if p.family == "ipv6" {
		fam = "ip6tables"
	}
	switch p.part {
	case "chain":
		return installChain(ctx, fam, w.rules)
	case "jump":
		return ensureJump(ctx, fam)
	}
	return ensureBlackholes()
}

// State is the queue path as last checked.
func (w *watcher) State() QueuePathState {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.state
	s.Missing = append([]string(nil), s.Missing...)
	return s
}

func familyName(fam string) string {
	if fam == "ip6tables" {
		return "ipv6"
	}
	return "ipv4"
}

// chainLines are Chain's rules in iptables-save's words.
func chainLines(save string) []string {
	var out []string
	for _, l := range strings.Split(save, "\n") {
		if strings.HasPrefix(l, "-A "+Chain+" ") {
			out = append(out, l)
		}
	}
	return out
}

// hasJump says whether the hook jumps to Chain for both marks.
func hasJump(save string) bool {
	mark := fmt.Sprintf("--mark %#x/%#x", markInspect, ^uint32(markFailOpen))
	for _, l := range strings.Split(save, "\n") {
		if strings.HasPrefix(l, "-A "+nfHook+" ") && strings.Contains(l, mark) && strings.HasSuffix(l, "-j "+Chain) {
			return true
		}
	}
	return false
}

func equalLines(a, b []string) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
