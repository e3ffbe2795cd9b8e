package capture

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Filter is a compiled tcpdump-style expression. The subset understood:
//
//	[src|dst] host ADDR     [src|dst] net PREFIX    [src|dst] port N
//	portrange N-M           tcp udp icmp icmp6 ip ip6
//	not / !   and / &&   or / ||   ( )
//
// Juxtaposed primitives ("tcp port 443") are joined by and; and and or
// have equal precedence and group left to right, as in tcpdump. The
// datapath only selects the organisation; this runs on what it copied.
type Filter struct{ match func(*fields) bool }

// Match says whether a captured frame passes (an empty filter passes all).
func (f *Filter) Match(frame []byte) bool {
	if f == nil || f.match == nil {
		return true
	}
	fl, ok := decode(frame)
	return ok && f.match(fl)
}

// ParseFilter compiles expr.
func ParseFilter(expr string) (*Filter, error) {
	p := &parser{toks: tokenize(expr)}
	if len(p.toks) == 0 {
		return &Filter{}, nil
	}
	m, err := p.expr()
	if err != nil {
		return nil, fmt.Errorf("filter %q: %w", expr, err)
	}
	if p.i < len(p.toks) {
		return nil, fmt.Errorf("filter %q: unexpected %q", expr, p.toks[p.i])
	}
	return &Filter{m}, nil
}

func tokenize(s string) []string {
	s = strings.NewReplacer("(", " ( ", ")", " ) ", "!", " ! ").Replace(s)
	return strings.Fields(s)
}

type parser struct {
	toks []string
	i    int
}

func (p *parser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *parser) next() string { t := p.peek(); p.i++; return t }

type pred = func(*fields) bool

func (p *parser) expr() (pred, error) {
	left, err := p.unary()
	for err == nil {
		op := p.peek()
		switch op {
		case "and", "&&", "or", "||":
			p.i++
		case "", ")":
			return left, nil
		default:
			op = "and" // juxtaposition
		}
		var right pred
		if right, err = p.unary(); err != nil {
			break
		}
		l := left
		if op == "or" || op == "||" {
			left = func(f *fields) bool { return l(f) || right(f) }
		} else {
			left = func(f *fields) bool { return l(f) && right(f) }
		}
	}
	return nil, err
}

func (p *parser) unary() (pred, error) {
	switch p.peek() {
	case "not", "!":
		p.i++
		m, err := p.unary()
		if err != nil {
			return nil, err
		}
		return func(f *fields) bool { return !m(f) }, nil
	case "(":
		p.i++
		m, err := p.expr()
		if err != nil {
			return nil, err
		}
		if p.next() != ")" {
			return nil, fmt.Errorf("missing )")
		}
		return m, nil
	}
	return p.primitive()
}

func (p *parser) primitive() (pred, error) {
	dir := ""
	if t := p.peek(); t == "src" || t == "dst" {
		dir = p.next()
	}
	switch t := p.next(); t {
	case "host":
		a, err := netip.ParseAddr(p.next())
		if err != nil {
			return nil, err
		}
		return addrPred(dir, netip.PrefixFrom(a, a.BitLen())), nil
	case "net":
		n, err := netip.ParsePrefix(p.next())
		if err != nil {
			return nil, err
		}
		return addrPred(dir, n.Masked()), nil
	case "port":
		n, err := strconv.ParseUint(p.next(), 10, 16)
		if err != nil {
			return nil, fmt.Errorf("port: %w", err)
		}
		return portPred(dir, uint16(n), uint16(n)), nil
	case "portrange":
		lo, hi, ok := strings.Cut(p.next(), "-")
		l, e1 := strconv.ParseUint(lo, 10, 16)
		h, e2 := strconv.ParseUint(hi, 10, 16)
		if !ok || e1 != nil || e2 != nil || l > h {
			return nil, fmt.Errorf("portrange wants N-M")
		}
		return portPred(dir, uint16(l), uint16(h)), nil
	case "tcp", "udp", "icmp", "icmp6", "ip", "ip6":
		if dir != "" {
			return nil, fmt.Errorf("%s %s is not a filter", dir, t)
		}
		return protoPred(t), nil
	case "":
		return nil, fmt.Errorf("unexpected end")
	default:
		return nil, fmt.Errorf("%q is not understood (host, net, port, portrange, tcp, udp, icmp, icmp6, ip, ip6, and, or, not)", t)
	}
}

func addrPred(dir string, n netip.Prefix) pred {
	return func(f *fields) bool {
		return (dir != "dst" && f.src.IsValid() && n.Contains(f.src)) ||
			(dir != "src" && f.dst.IsValid() && n.Contains(f.dst))
	}
}

func portPred(dir string, lo, hi uint16) pred {
	in := func(p uint16) bool { return p >= lo && p <= hi }
	return func(f *fields) bool {
		return f.ports && ((dir != "dst" && in(f.sport)) || (dir != "src" && in(f.dport)))
	}
}

func protoPred(name string) pred {
	return func(f *fields) bool {
		switch name {
		case "ip":
			return f.src.Is4()
		case "ip6":
			return f.src.Is6()
		case "tcp":
			return f.proto == 6
		case "udp":
			return f.proto == 17
		case "icmp":
			return f.proto == 1
		}
		return f.proto == 58
	}
}
