package datapath

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"

	"github.com/cilium/ebpf"
)

// Playing a sequence through the program and the model side by side,
// shrinking a sequence that shows a difference, and comparing the flow
// and fragment tables the two are left with.

type seqDiff struct {
	step      int
	want, got refOutcome
}

func (d *seqDiff) signature() string { return d.want.String() + "/" + d.got.String() }

func outcomesDiffer(want, got refOutcome) bool {
	return want.action != got.action || (want.action == xdpDrop && want.reason != got.reason)
}

// play runs steps from empty tables (and the published suspensions),
// stopping at the first difference; each outcome is counted in counts.
func (h *seqHarness) play(m *refModel, steps []seqStep, fwd bool, counts map[string]int) (*seqDiff, error) {
	return h.playLogged(m, steps, fwd, true, func(_ int, s seqStep, want, got refOutcome) {
		if counts != nil && s.event == nil {
			counts[got.String()]++
			counts["path: "+want.String()+": "+want.why]++
		}
	})
}

// playLogged is play calling each for every packet, and going on past a
// difference unless stop.
func (h *seqHarness) playLogged(m *refModel, steps []seqStep, fwd, stop bool,
	each func(i int, s seqStep, want, got refOutcome)) (*seqDiff, error) {
	var diff *seqDiff
	err := h.ns.Do(func() error {
		if err := h.reset(m, fwd); err != nil {
			return err
		}
		for i, s := range steps {
			if s.event != nil {
				if err := h.apply(m, s.event); err != nil {
					return fmt.Errorf("step %d: %w", i, err)
				}
				if each != nil {
					each(i, s, refOutcome{}, refOutcome{})
				}
				continue
			}
			want := m.decide(h.world.ifindex[s.iface], s.frame)
			got, err := h.outcome(h.world.ifindex[s.iface], s.frame)
			if err != nil {
				return fmt.Errorf("step %d: %w", i, err)
			}
			if each != nil {
				each(i, s, want, got)
			}
			if outcomesDiffer(want, got) && diff == nil {
				diff = &seqDiff{i, want, got}
				if stop {
					return nil
				}
			}
		}
		return nil
	})
	return diff, err
}

// outcome runs a frame and reads, for a drop, the reason counted.
func (h *seqHarness) outcome(ifindex uint32, frame []byte) (refOutcome, error) {
	act, err := h.runFrame(ifindex, frame)
	if err != nil {
		return refOutcome{}, fmt.Errorf("run program: %w", err)
	}
	got := refOutcome{action: act}
	if act != xdpDrop {
		return got, nil
	}
	got.reason, got.why, err = h.drops.grown()
	return got, err
}

// reset empties the flow and fragment tables, restores the published
// suspensions and sets XDP forwarding, in the program and the model.
func (h *seqHarness) reset(m *refModel, fwd bool) error {
	for _, mp := range []*ebpf.Map{h.dp.Maps().Flows, h.dp.Maps().Frags} {
		if err := clearMap(mp); err != nil {
			return err
		}
	}
	if err := zeroFlowCounts(h.dp); err != nil { // the table is empty: so are the quotas
		return err
	}
	if m.pol != nil {
		for i, b := range h.base {
			if h.cur == nil {
				h.cur = append([]bool{}, h.base...)
			}
			if h.cur[i] != b {
				if err := h.dp.SetOrgSuspended(i, b); err != nil {
					return err
				}
				h.cur[i] = b
			}
			m.pol.Orgs[i].Suspended = b
		}
	}
	if h.fwd == nil || *h.fwd != fwd {
		if err := h.dp.Configure(Settings{Forward: fwd, Timeouts: DefaultTimeouts()}); err != nil {
			return err
		}
		h.fwd = &fwd
	}
	m.reset()
	m.xdpFwd = fwd
	return h.drops.sync()
}

func clearMap(m *ebpf.Map) error {
	var k []byte
	for {
		if err := m.NextKey(nil, &k); errors.Is(err, ebpf.ErrKeyNotExist) {
			return nil
		} else if err != nil {
			return fmt.Errorf("walk %s: %w", m, err)
		}
		if err := m.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("empty %s: %w", m, err)
		}
	}
}

// apply makes a control-plane change in the program and the model.
func (h *seqHarness) apply(m *refModel, e *seqEvent) error {
	if m.pol == nil {
		return nil // nothing published to change
	}
	switch e.kind {
	case "suspend":
		org := m.orgIndex[genOrgs[e.org].id]
		if err := h.dp.SetOrgSuspended(org, e.on); err != nil {
			return err
		}
		h.cur[org] = e.on
		m.pol.Orgs[org].Suspended = e.on
	case "verdict":
		if err := h.dp.SetFlowVerdict(e.key, e.on); err != nil && !errors.Is(err, ErrNoFlow) {
			return err
		}
		if f := m.flows[e.key]; f != nil && f.verdict == vInspect {
			f.verdict = vDrop
			if e.on {
				f.verdict = vAllow
			}
		}
	}
	return nil
}

// minimize shrinks the steps before last (delta debugging) while last
// still shows the same difference, and no step before it any.
func (h *seqHarness) minimize(m *refModel, prefix []seqStep, last seqStep, fwd bool, sig string) []seqStep {
	still := func(pre []seqStep) bool {
		d, err := h.playLogged(m, append(append([]seqStep{}, pre...), last), fwd, true, nil)
		return err == nil && d != nil && d.step == len(pre) && d.signature() == sig
	}
	cur := prefix
	if still(nil) {
		return []seqStep{last}
	}
	n := 2
	for trials := 0; len(cur) > 1 && trials < 500; {
		chunk := (len(cur) + n - 1) / n
		reduced := false
		for i := 0; i < len(cur); i += chunk {
			cand := append(append([]seqStep{}, cur[:i]...), cur[min(i+chunk, len(cur)):]...)
			trials++
			if still(cand) {
				cur, reduced, n = cand, true, max(n-1, 2)
				break
			}
		}
		if !reduced {
			if chunk == 1 {
				break
			}
			n = min(n*2, len(cur))
		}
	}
	return append(cur, last)
}

// checkState compares the program's flow and fragment tables with the
// model's: the same entries, owners, verdicts, flags and ingresses.
func (h *seqHarness) checkState(m *refModel) []string {
	var bad []string
	seen := map[BoundaryPalFlowKey]bool{}
	var k BoundaryPalFlowKey
	var v []byte
	it := h.dp.Maps().Flows.Iterate()
	for it.Next(&k, &v) && len(bad) < 5 {
		seen[k] = true
		f := m.flows[k]
		if f == nil {
			bad = append(bad, "flow "+flowKeyString(k)+" in the program, not in the model")
			continue
		}
		if s := h.flowDiff(m, f, v); s != "" {
			bad = append(bad, "flow "+flowKeyString(k)+": "+s)
		}
	}
	if err := it.Err(); err != nil {
		return append(bad, "walk flows: "+err.Error())
	}
	for k := range m.flows {
		if !seen[k] && len(bad) < 5 {
			bad = append(bad, "flow "+flowKeyString(k)+" in the model, not in the program")
		}
	}
	return append(bad, h.fragDiff(m)...)
}

var hostLE = binary.LittleEndian

func (h *seqHarness) flowDiff(m *refModel, f *refFlow, v []byte) string {
	slot, _ := h.dp.OrgSlot(m.pol.Orgs[f.org].ID)
	want := fmt.Sprintf("org slot %d rule %s orig %v verdict %d flags %#x", slot, m.pol.Rules[f.rule].Name, f.orig, f.verdict, f.flags)
	got := fmt.Sprintf("org slot %d rule %s orig %v verdict %d flags %#x", hostLE.Uint32(v[48:]), h.dp.RuleName(hostLE.Uint32(v[52:])),
		ingressID{hostLE.Uint32(v[56:]), hostLE.Uint16(v[60:]), hostLE.Uint16(v[62:])}, v[64], v[65])
	if len(v) >= 80 {
		want += fmt.Sprintf(" reply %v", f.reply)
		got += fmt.Sprintf(" reply %v", ingressID{hostLE.Uint32(v[72:]), hostLE.Uint16(v[76:]), hostLE.Uint16(v[78:])})
	}
	if want == got {
		return ""
	}
	return "model " + want + "; program " + got
}

// fragDiff compares fragment tables keyed as struct pal_frag_key (48
// bytes, with the ingress); another layout is not compared.
func (h *seqHarness) fragDiff(m *refModel) []string {
	fm := h.dp.Maps().Frags
	if fm.KeySize() != 48 {
		return nil
	}
	want := map[[48]byte]refFrag{}
	for k, f := range m.frags {
		want[fragKeyBytes(k)] = f
	}
	var bad []string
	var k, v []byte
	it := fm.Iterate()
	for it.Next(&k, &v) {
		kb := [48]byte(k)
		f, ok := want[kb]
		switch {
		case !ok:
			bad = append(bad, fmt.Sprintf("fragment key %x in the program, not in the model", k))
		case v[16] != f.verdict:
			bad = append(bad, fmt.Sprintf("fragment key %x: verdict %d, model %d", k, v[16], f.verdict))
		}
		delete(want, kb)
	}
	for kb := range want {
		bad = append(bad, fmt.Sprintf("fragment key %x in the model, not in the program", kb))
	}
	if len(bad) > 5 {
		bad = bad[:5]
	}
	return bad
}

func fragKeyBytes(k refFragKey) (b [48]byte) {
	s, d := words(k.src), words(k.dst)
	for i := range 4 {
		hostLE.PutUint32(b[i*4:], s[i])
		hostLE.PutUint32(b[16+i*4:], d[i])
	}
	hostLE.PutUint32(b[32:], k.id)
	b[36], b[37] = k.proto, k.family
	hostLE.PutUint16(b[38:], k.in.vlan)
	hostLE.PutUint32(b[40:], k.in.ifindex)
	hostLE.PutUint16(b[44:], k.in.inner)
	return b
}

func flowKeyString(k BoundaryPalFlowKey) string {
	addr := func(w [4]uint32) netip.Addr {
		var b [16]byte
		for i := range 4 {
			hostLE.PutUint32(b[i*4:], w[i])
		}
		if k.Family == 4 {
			return netip.AddrFrom4([4]byte(b[:4]))
		}
		return netip.AddrFrom16(b)
	}
	return fmt.Sprintf("%s %s:%d <> %s:%d", protoName(k.Proto), addr(k.LoAddr), k.LoPort, addr(k.HiAddr), k.HiPort)
}
