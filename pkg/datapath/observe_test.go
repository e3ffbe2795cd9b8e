package datapath

import (
	"testing"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/palisade-psn/palisade/internal/packets"
)

// runRepeat runs one frame repeat times in one BPF_PROG_RUN: the kernel
// keeps it on one CPU, so one per-CPU budget applies to all of them.
func (h *harness) runRepeat(t *testing.T, iface string, frame []byte, repeat uint32) {
	t.Helper()
	err := h.ns.Do(func() error {
		_, err := h.dp.Program().Run(&ebpf.RunOptions{Data: frame, Repeat: repeat,
			Context: xdpMD{DataEnd: uint32(len(frame)), IngressIfindex: uint32(h.ifindex[iface])}})
		return err
	})
	if err != nil {
		t.Fatalf("run program: %v", err)
	}
}

// TestFlowLogEvents: a flow start and refused packets reach the ring
// buffer with their fields, and the per-CPU budget holds back the rest.
func TestFlowLogEvents(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/policy")
	rd, err := h.dp.EventReader()
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if err := h.dp.SetFlowLog(FlowLogSettings{Rate: 3, DropSample: 1}); err != nil {
		t.Fatal(err)
	}
	h.run(t, "org0", packets.Build(tcp(alpha4, web4, 47001, 443, packets.SYN)))
	h.runRepeat(t, "org0", packets.Build(tcp(alpha4, web4, 47002, 22, packets.SYN)), 10)
	var evs []BoundaryPalEvent
	rd.SetDeadline(time.Now().Add(2 * time.Second))
	for len(evs) < 10 {
		rec, err := rd.Read()
		if err != nil {
			break
		}
		evs = append(evs, *(*BoundaryPalEvent)(unsafe.Pointer(&rec.RawSample[0])))
	}
	orgs, rules := h.dp.SlotNames()
	if len(evs) != 4 {
		t.Fatalf("%d events, want 1 flow start and 3 refusals (the rate limit)", len(evs))
	}
	if e := evs[0]; e.Type != uint8(BoundaryPalEventTypePAL_EVENT_FLOW_START) || orgs[e.OrgSlot] != "alpha" ||
		rules[e.RuleSlot] != "alpha/web" || e.Dport != 443 || e.Sport != 47001 || e.Proto != 6 {
		t.Errorf("flow start event %+v", e)
	}
	for _, e := range evs[1:] {
		if e.Type != uint8(BoundaryPalEventTypePAL_EVENT_DROP) || e.Dport != 22 || orgs[e.OrgSlot] != "alpha" ||
			DropReasonName(BoundaryPalDropReason(e.Reason)) != "no_rule" {
			t.Errorf("drop event %+v", e)
		}
	}
	obs, err := h.dp.Counters().ObsCounts()
	if err != nil {
		t.Fatal(err)
	}
	if obs["log_sent"] != 4 || obs["log_rate_limited"] != 7 || obs["flows_created"] != 1 {
		t.Errorf("observation counters %v", obs)
	}
}

// TestCaptureCopiesDecisions: with a capture of one organisation on, its
// allowed and dropped packets are copied with their verdicts; another
// organisation's are not.
func TestCaptureCopiesDecisions(t *testing.T) {
	h := newHarness(t)
	h.publish("testdata/policy")
	slot, ok := h.dp.OrgSlot("alpha")
	if !ok {
		t.Fatal("no slot for alpha")
	}
	rd, err := h.dp.CaptureReader(1 << 16)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if err := h.dp.SetCapture(slot, 40); err != nil {
		t.Fatal(err)
	}
	h.run(t, "org0", packets.Build(tcp(alpha4, web4, 47101, 443, packets.SYN)))
	h.run(t, "org0", packets.Build(tcp(alpha4, web4, 47102, 22, packets.SYN)))
	h.run(t, "org1", packets.Build(tcp(gamma4, web4, 47103, 443, packets.SYN)))
	if err := h.dp.StopCapture(); err != nil {
		t.Fatal(err)
	}
	h.run(t, "org0", packets.Build(tcp(alpha4, web4, 47104, 443, packets.SYN)))
	var metas []BoundaryPalCaptureMeta
	rd.SetDeadline(time.Now().Add(2 * time.Second))
	if err := rd.Flush(); err != nil { // fewer records than wake the reader
		t.Fatal(err)
	}
	for len(metas) < 4 {
		rec, err := rd.Read()
		if err != nil {
			break
		}
		m := *(*BoundaryPalCaptureMeta)(unsafe.Pointer(&rec.RawSample[0]))
		if int(m.CapLen) > len(rec.RawSample)-int(unsafe.Sizeof(m)) {
			t.Errorf("sample of %d bytes claims %d captured", len(rec.RawSample), m.CapLen)
		}
		metas = append(metas, m)
	}
	if len(metas) != 2 {
		t.Fatalf("%d packets captured, want alpha's 2 while the capture ran", len(metas))
	}
	if m := metas[0]; m.Verdict != uint8(BoundaryPalVerdictPAL_VERDICT_ALLOW) || m.OrgSlot != slot || m.CapLen != 40 || m.PktLen <= 40 {
		t.Errorf("allowed packet meta %+v", m)
	}
	if m := metas[1]; m.Verdict != uint8(BoundaryPalVerdictPAL_VERDICT_DROP) ||
		DropReasonName(BoundaryPalDropReason(m.Reason)) != "no_rule" {
		t.Errorf("dropped packet meta %+v", m)
	}
}
