package engines

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/palisade-psn/palisade/bench/internal/synth"
	"github.com/palisade-psn/palisade/pkg/policy"
)

// Linear is iptables as most rule sets are written: one ACCEPT rule per
// allowed (source, destination, protocol, port), walked in order, in the
// filter table's FORWARD chain. Tool picks the backend: iptables-legacy
// (x_tables) or iptables-nft (nf_tables rules, evaluated one by one).
type Linear struct {
	Tool string
	xdp  xdpAttachment
}

func (e *Linear) Setup(p *Pair, set *synth.Set, _ *policy.Compiled) (int, error) {
	if err := e.xdp.attach(p.FW, p.RxIf, passProgram); err != nil {
		return 0, err
	}
	rs := flatten(set)
	var b strings.Builder
	b.WriteString(filterHeader)
	for _, r := range rs {
		b.WriteString(r.iptablesLine())
	}
	b.WriteString(filterFooter)
	if _, err := run(p.FW, LoadTimeout, strings.NewReader(b.String()), e.Tool+"-restore"); err != nil {
		return 0, fmt.Errorf("load %s rules: %w", e.Tool, err)
	}
	return len(rs), nil
}

const (
	filterHeader = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:refuse - [0:0]\n"
	filterFooter = "-A FORWARD -j refuse\n-A refuse -j DROP\nCOMMIT\n"
)

// Refused reads the final DROP's counter. iptables-nft's rules are nf_tables
// rules: nft lists the one small chain without fetching 100,000 others.
func (e *Linear) Refused(p *Pair) (uint64, error) {
	if e.Tool == "iptables-nft" {
		return nftRefused(p, "filter")
	}
	return legacyRefused(p)
}

var legacyDrop = regexp.MustCompile(`(?m)^\s*(\d+)\s+\d+\s+DROP\b`)

func legacyRefused(p *Pair) (uint64, error) {
	out, err := run(p.FW, cmdTimeout, nil, "iptables-legacy", "-t", "filter", "-L", "refuse", "-v", "-x", "-n")
	if err != nil {
		return 0, err
	}
	m := legacyDrop.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no DROP counter in chain refuse in %s: %s", p.FW.Name, trim(out))
	}
	return strconv.ParseUint(string(m[1]), 10, 64)
}

func (e *Linear) Close() error { return e.xdp.close() }

// IPSet is the classic iptables answer to large rule sets: one rule, one
// hash lookup. hash:net,port,net is not built into this kernel, so the set
// is hash:ip,port,net matched as (destination, port, source net): ipset
// expands each destination prefix into its addresses.
type IPSet struct {
	xdp xdpAttachment
}

func (e *IPSet) Setup(p *Pair, set *synth.Set, _ *policy.Compiled) (int, error) {
	if err := e.xdp.attach(p.FW, p.RxIf, passProgram); err != nil {
		return 0, err
	}
	var b strings.Builder
	b.WriteString("create allow hash:ip,port,net family inet hashsize 1048576 maxelem 16777216\n")
	for _, r := range flatten(set) {
		fmt.Fprintf(&b, "add allow %s,%s:%d,%s\n", r.Dst, r.Proto, r.Port, r.Src)
	}
	if _, err := run(p.FW, LoadTimeout, strings.NewReader(b.String()), "ipset", "-exist", "restore"); err != nil {
		return 0, fmt.Errorf("load ipset: %w", err)
	}
	rules := filterHeader + "-A FORWARD -m set --match-set allow dst,dst,src -j ACCEPT\n" + filterFooter
	if _, err := run(p.FW, LoadTimeout, strings.NewReader(rules), "iptables-legacy-restore"); err != nil {
		return 0, fmt.Errorf("load iptables rule for ipset: %w", err)
	}
	return ipsetEntries(p)
}

var ipsetCount = regexp.MustCompile(`Number of entries: (\d+)`)

func ipsetEntries(p *Pair) (int, error) {
	out, err := run(p.FW, cmdTimeout, nil, "ipset", "list", "allow", "-t")
	if err != nil {
		return 0, err
	}
	m := ipsetCount.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("ipset list allow: no entry count: %s", trim(out))
	}
	return strconv.Atoi(string(m[1]))
}

func (e *IPSet) Refused(p *Pair) (uint64, error) { return legacyRefused(p) }

func (e *IPSet) Close() error { return e.xdp.close() }
