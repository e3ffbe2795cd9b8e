// Package rules reads a Palisade policy — a directory of YAML files, one per
// organisation plus one services file — and turns it into a validated Policy.
//
// Every problem is reported as file:line:col with a plain message, and all of
// them come back from one Load, so the security team can fix a change in one
// pass. Nothing here knows about the datapath: the policy package compiles
// what this package returns.
package rules

import (
	"fmt"
	"net/netip"
	"strconv"
	"time"
)

// Pos is where something was written: the file as Load was given it, and a
// 1-based line and column.
type Pos struct {
	File      string
	Line, Col int
}

func (p Pos) String() string { return p.File + ":" + strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col) }

// Proto is the IP protocol number a port range applies to.
type Proto uint8

const (
	// ProtoICMP stands for ICMP echo; towards an IPv6 destination it means
	// ICMPv6 echo, so one rule covers ping on both families.
	ProtoICMP Proto = 1
	ProtoTCP  Proto = 6
	ProtoUDP  Proto = 17
)

func (p Proto) String() string {
	switch p {
	case ProtoICMP:
		return "icmp"
	case ProtoTCP:
		return "tcp"
	case ProtoUDP:
		return "udp"
	}
	return "proto(" + strconv.Itoa(int(p)) + ")"
}

// PortRange is an inclusive range of destination ports of one protocol.
// ICMP has no ports: its Lo and Hi are 0.
type PortRange struct {
	Proto  Proto
	Lo, Hi uint16
}

// String writes r as the services file does: "443/tcp", "5000-5010/udp", "icmp".
func (r PortRange) String() string {
	switch {
	case r.Proto == ProtoICMP:
		return "icmp"
	case r.Lo == r.Hi:
		return fmt.Sprintf("%d/%s", r.Lo, r.Proto)
	}
	return fmt.Sprintf("%d-%d/%s", r.Lo, r.Hi, r.Proto)
}

// Contains reports whether every port of o is also in r.
func (r PortRange) Contains(o PortRange) bool {
	return r.Proto == o.Proto && r.Lo <= o.Lo && o.Hi <= r.Hi
}

// Service is a named shared service that organisations are allowed to reach.
type Service struct {
	Name        string
	Description string
	// Owner is the organisation hosting the service, which alone may
	// offer it in a data-sharing agreement; "" for a shared service,
	// which no organisation may offer (see owner.go).
	Owner string
	To    []netip.Prefix
	Ports []PortRange // sorted by proto, then port
	Pos   Pos         // the service's key in the services file
}

// State is whether an organisation is connected in full or red-flagged.
type State uint8

const (
	StateActive State = iota
	// StateSuspended keeps only the rules for remediation services.
	StateSuspended
)

func (s State) String() string {
	if s == StateSuspended {
		return "suspended"
	}
	return "active"
}

// Ingress is where an organisation's traffic enters the gateway.
type Ingress struct {
	Interface string
	VLAN      uint16 // 0: untagged; with InnerVLAN, the outer tag
	InnerVLAN uint16 // 0: one tag at most; else QinQ, the tag inside VLAN
	Pos       Pos
}

// Inspect flags a rule's traffic for the userspace inspector: a flow is
// allowed only if it names one of the listed hosts.
type Inspect struct {
	TLSSNI, HTTPHost, DNS []string // lowercase, an optional leading "*."
	// FailOpen allows flagged traffic when the inspector cannot decide
	// (queue full, inspector gone); the default is to drop it.
	FailOpen bool
}

// Rule allows an organisation to reach some destinations and ports.
type Rule struct {
	ID      string // stable: counters, flow logs and explain report it
	Service string // set for a service rule; To and Ports then come from the service
	To      []netip.Prefix
	Ports   []PortRange // sorted by proto, then port
	Inspect *Inspect    // nil unless the rule is flagged
	Pos     Pos         // the rule's first key
	// Agreement is set on rules a data-sharing agreement grants:
	// "ID with PARTY"; Pos is then the offered service in PARTY's file.
	Agreement string
	Until     time.Time // for an agreement's rule: when the agreement expires
}

// Organisation is one member network, known by its ingress and source prefixes.
type Organisation struct {
	ID    string
	Name  string
	State State
	// Certificate is its compliance certificate, nil when the rules give none.
	Certificate *Certificate
	Ingress     []Ingress
	Prefixes    []netip.Prefix
	Allow       []Rule
	Agreements  []Agreement // as this organisation declares them
	Limits      *Limits     // nil: the gateway's defaults
	Pos         Pos         // the organisation key in its file
}

// Policy is a whole, validated rule set.
type Policy struct {
	Dir         string
	Services    map[string]*Service
	Remediation []string        // services a suspended organisation keeps, as written
	Orgs        []*Organisation // sorted by ID
	Warnings    []*Error        // findings that do not stop the policy loading
	Tests       []TestCase      // expectation cases written beside the rules, in file order
	// AgreementsUntil is when the first agreement in force expires (zero:
	// none), so that the agent knows when to load the rules again.
	AgreementsUntil time.Time
}
