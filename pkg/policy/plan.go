package policy

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/palisade-psn/palisade/pkg/rules"
)

// Plan is what applying a new policy would change, like a terraform plan:
// the objects added, removed or changed, and the flows whose verdict moves.
type Plan struct {
	From string `json:"from_digest"` // policy digest; "" when nothing runs yet
	To   string `json:"to_digest"`   // policy digest, as `palisade validate` prints it
	// FromState and ToState are the state digests: with the runtime
	// narrowing (suspensions, lapsed certificates) on each side.
	FromState string       `json:"from_state_digest"`
	ToState   string       `json:"to_state_digest"`
	Narrowed  []Narrowing  `json:"narrowed"` // the new side's runtime narrowing
	Orgs      Changes      `json:"organisations"`
	Rules     Changes      `json:"rules"`
	Prefixes  Changes      `json:"prefixes"` // "org prefix": registered source prefixes
	Flows     []FlowChange `json:"flows"`
}

// Changes lists names added, removed and changed.
type Changes struct {
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	Changed []string `json:"changed"`
}

// FlowChange is a block of flows of one organisation whose verdict moves:
// to a destination prefix, over one protocol, on a port range.
type FlowChange struct {
	Org   string `json:"organisation"`
	Dest  string `json:"to"`
	Ports string `json:"ports"` // "443/tcp", "5000-5010/udp", "icmp"
	Was   string `json:"was"`   // "allow by org/id", "drop"
	Now   string `json:"now"`
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return p.From == p.To && p.FromState == p.ToState }

// Summary is the plan in one line, for logs and the audit log.
func (p *Plan) Summary() string {
	start, stop := 0, 0
	for _, f := range p.Flows {
		if strings.HasPrefix(f.Was, "drop") {
			start++
		} else if strings.HasPrefix(f.Now, "drop") {
			stop++
		}
	}
	return fmt.Sprintf("organisations +%d -%d ~%d, rules +%d -%d ~%d, prefixes +%d -%d; flow blocks: %d start, %d stop, %d change",
		len(p.Orgs.Added), len(p.Orgs.Removed), len(p.Orgs.Changed),
		len(p.Rules.Added), len(p.Rules.Removed), len(p.Rules.Changed),
		len(p.Prefixes.Added), len(p.Prefixes.Removed), start, stop, len(p.Flows)-start-stop)
}

// MakePlan compares the running policy (old; nil when there is none) with
// a new one. Both the source policies and their compiled tables are
// needed: names and positions live in the first, verdicts in the second.
func MakePlan(oldP *rules.Policy, oldC *Compiled, newP *rules.Policy, newC *Compiled) *Plan {
	if oldP == nil {
		oldP, oldC = &rules.Policy{}, Compile(&rules.Policy{})
		oldC.Digest, oldC.PolicyDigest = "", ""
	}
	p := &Plan{From: oldC.PolicyDigest, To: newC.PolicyDigest, FromState: oldC.Digest, ToState: newC.Digest,
		Narrowed: append([]Narrowing{}, newC.Narrowed...)}
	p.Orgs = diffMaps(orgTexts(oldP), orgTexts(newP))
	p.Rules = diffMaps(ruleTexts(oldP), ruleTexts(newP))
	p.Prefixes = diffMaps(prefixTexts(oldP), prefixTexts(newP))
	ids := map[string]bool{}
	for _, o := range append(slices.Clone(oldC.Orgs), newC.Orgs...) {
		ids[o.ID] = true
	}
	for _, id := range sortedKeys(ids) {
		p.Flows = append(p.Flows, flowChanges(id, oldC, newC)...)
	}
	return p
}

func orgTexts(p *rules.Policy) map[string]string {
	out := map[string]string{}
	for _, o := range p.Orgs {
		// Ingresses without their positions: the same rules in another
		// checkout (a scratch worktree of the next commit) are no change.
		var ins []string
		for _, in := range o.Ingress {
			ins = append(ins, fmt.Sprint(in.Interface, in.VLAN, in.InnerVLAN))
		}
		out[o.ID] = fmt.Sprint(o.Name, o.State, ins, o.Prefixes, len(o.Allow))
	}
	return out
}

func ruleTexts(p *rules.Policy) map[string]string {
	out := map[string]string{}
	for _, o := range p.Orgs {
		for _, r := range o.Allow {
			insp := ""
			if r.Inspect != nil {
				insp = fmt.Sprint(*r.Inspect)
			}
			out[o.ID+"/"+r.ID] = fmt.Sprint(r.To, r.Ports, insp)
		}
	}
	return out
}

func prefixTexts(p *rules.Policy) map[string]string {
	out := map[string]string{}
	for _, o := range p.Orgs {
		for _, pfx := range o.Prefixes {
			out[o.ID+" "+pfx.String()] = ""
		}
	}
	return out
}

func diffMaps(old, new map[string]string) Changes {
	c := Changes{Added: []string{}, Removed: []string{}, Changed: []string{}}
	for _, k := range sortedKeys(old) {
		if v, ok := new[k]; !ok {
			c.Removed = append(c.Removed, k)
		} else if v != old[k] {
			c.Changed = append(c.Changed, k)
		}
	}
	for _, k := range sortedKeys(new) {
		if _, ok := old[k]; !ok {
			c.Added = append(c.Added, k)
		}
	}
	return c
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// effective returns the ruleset an organisation uses (remediation while
// suspended) and its index, or -1 when the policy has no such organisation.
func (c *Compiled) effective(org string) int {
	for _, o := range c.Orgs {
		if o.ID == org {
			if o.Suspended {
				return RemediationRuleset
			}
			return o.Ruleset
		}
	}
	return -1
}

// destAt is the longest destination of ruleset rs containing a, or nil.
func (c *Compiled) destAt(rs int, a netip.Addr) *Dest {
	if rs < 0 {
		return nil
	}
	ix := c.index()
	for _, l := range ix.dstLens[rs][famIdx(a)] {
		if d := ix.dests[rs][netip.PrefixFrom(a, int(l)).Masked()]; d != nil {
			return d
		}
	}
	return nil
}
