package engines

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/palisade-psn/palisade/bench/internal/synth"
	"github.com/palisade-psn/palisade/pkg/policy"
)

// LoadTimeout bounds loading one engine's rules; an engine slower than this
// at a rule count is reported as absent there, with the reason.
var LoadTimeout = 180 * time.Second

// NFTSet is nftables done well: one lookup of (source, protocol, port,
// destination) in a concatenated interval set (pipapo) at the forward hook.
// As Floor it holds no rules at all: only the final drop, which is the
// least the kernel stack costs.
type NFTSet struct {
	Floor bool
	xdp   xdpAttachment
}

func (e *NFTSet) Setup(p *Pair, set *synth.Set, _ *policy.Compiled) (int, error) {
	if err := e.xdp.attach(p.FW, p.RxIf, passProgram); err != nil {
		return 0, err
	}
	var b strings.Builder
	b.WriteString("table ip bench {\n")
	n := 0
	if !e.Floor {
		rs := withoutCovered(flatten(set))
		n = len(rs)
		b.WriteString("\tset allow {\n\t\ttype ipv4_addr . inet_proto . inet_service . ipv4_addr\n\t\tflags interval\n")
		for i, r := range rs {
			sep := ",\n"
			if i == 0 {
				b.WriteString("\t\telements = {\n")
			}
			if i == len(rs)-1 {
				sep = "\n\t\t}\n"
			}
			fmt.Fprintf(&b, "\t\t\t%s . %s . %d . %s%s", r.Src, r.Proto, r.Port, r.Dst, sep)
		}
		b.WriteString("\t}\n")
	}
	b.WriteString("\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n")
	if !e.Floor {
		b.WriteString("\t\tip saddr . meta l4proto . th dport . ip daddr @allow accept\n")
	}
	b.WriteString("\t\tjump refuse\n\t}\n\tchain refuse {\n\t\tcounter drop\n\t}\n}\n")
	if _, err := run(p.FW, LoadTimeout, strings.NewReader(b.String()), "nft", "-f", "-"); err != nil {
		return 0, fmt.Errorf("load nftables rules: %w", err)
	}
	return n, nil
}

var nftCounter = regexp.MustCompile(`counter packets (\d+)`)

// nftRefused reads the counter of the final drop in chain refuse.
func nftRefused(p *Pair, table string) (uint64, error) {
	out, err := run(p.FW, cmdTimeout, nil, "nft", "list", "chain", "ip", table, "refuse")
	if err != nil {
		return 0, err
	}
	m := nftCounter.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no counter in chain refuse of table %s in %s: %s", table, p.FW.Name, trim(out))
	}
	return strconv.ParseUint(string(m[1]), 10, 64)
}

func (e *NFTSet) Refused(p *Pair) (uint64, error) { return nftRefused(p, "bench") }

func (e *NFTSet) Close() error { return e.xdp.close() }
