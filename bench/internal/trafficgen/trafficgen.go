// Package trafficgen sends bursts of prepared frames into a veth from an XDP
// program run with BPF_PROG_RUN in live-frame mode (BPF_F_TEST_XDP_LIVE_FRAMES),
// the method of xdp-trafficgen: no sockets, no skbs on the sending side, so
// the sender costs little next to the engine under test on the other end.
package trafficgen

import (
	"fmt"
	"runtime"
	"time"

	"github.com/cilium/ebpf"
	"github.com/palisade-psn/palisade/internal/lab"
	"golang.org/x/sys/unix"
)

// FrameLen is the length of every generated frame: the Ethernet minimum,
// 64 bytes on the wire once the NIC adds the FCS.
const FrameLen = 60

// MaxFrames is how many distinct frames one generator cycles through.
const MaxFrames = 4096

// Generator transmits its frames out of one veth end.
type Generator struct {
	ns      *lab.NS
	ifindex int
	objs    TrafficgenObjects
}

// xdpMD mirrors struct xdp_md: the live frames leave through IngressIfindex.
type xdpMD struct {
	Data, DataEnd, DataMeta, IngressIfindex, RxQueueIndex, EgressIfindex uint32
}

// New loads a generator that sends frames (each FrameLen bytes) out of
// ifname in ns. The peer of ifname must run an XDP program, or a veth
// refuses the frames.
func New(ns *lab.NS, ifname string, frames [][]byte) (*Generator, error) {
	if len(frames) == 0 || len(frames) > MaxFrames {
		return nil, fmt.Errorf("generator: %d frames, want 1 to %d", len(frames), MaxFrames)
	}
	ifindex, err := ns.Ifindex(ifname)
	if err != nil {
		return nil, fmt.Errorf("generator: %w", err)
	}
	g := &Generator{ns: ns, ifindex: ifindex}
	if err := LoadTrafficgenObjects(&g.objs, nil); err != nil {
		return nil, fmt.Errorf("load generator: %w", err)
	}
	if err := g.setFrames(frames); err != nil {
		g.Close()
		return nil, err
	}
	return g, nil
}

func (g *Generator) setFrames(frames [][]byte) error {
	keys := make([]uint32, len(frames))
	vals := make([]TrafficgenGenFrame, len(frames))
	for i, f := range frames {
		if len(f) != FrameLen {
			return fmt.Errorf("generator: frame %d is %d bytes, want %d", i, len(f), FrameLen)
		}
		keys[i] = uint32(i)
		copy(vals[i].Bytes[:], f)
	}
	if _, err := g.objs.Frames.BatchUpdate(keys, vals, nil); err != nil {
		return fmt.Errorf("generator: write frames: %w", err)
	}
	if err := g.objs.Nframes.Set(uint32(len(frames))); err != nil {
		return fmt.Errorf("generator: set frame count: %w", err)
	}
	return nil
}

// Close unloads the generator.
func (g *Generator) Close() error { return g.objs.Close() }

// Sent is how many frames the generator has handed to XDP_TX so far.
func (g *Generator) Sent() (uint64, error) {
	var n uint64
	if err := g.objs.Sent.Get(&n); err != nil {
		return 0, fmt.Errorf("generator: read sent count: %w", err)
	}
	return n, nil
}

// Burst sends n frames from CPU cpu and says how long that took. The thread
// is pinned for the burst only, then given all CPUs back.
func (g *Generator) Burst(n uint32, cpu int) (time.Duration, error) {
	var took time.Duration
	err := g.ns.Do(func() error {
		restore, err := pinThread(cpu)
		if err != nil {
			return err
		}
		defer restore()
		frame := make([]byte, FrameLen)
		start := time.Now()
		_, err = g.objs.XdpGen.Run(&ebpf.RunOptions{
			Data:    frame,
			Context: xdpMD{DataEnd: FrameLen, IngressIfindex: uint32(g.ifindex)},
			Repeat:  n,
			Flags:   unix.BPF_F_TEST_XDP_LIVE_FRAMES,
		})
		took = time.Since(start)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("generator burst of %d frames: %w", n, err)
	}
	return took, nil
}

// pinThread keeps the calling (locked) thread on cpu at nice -20 until
// restore runs, so that the generator outruns the engine under test. Nice
// counts only within this session's autogroup: against other sessions'
// work it may still fall behind, which is why rates are also reported per
// second of the receiver's CPU.
func pinThread(cpu int) (restore func(), err error) {
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return nil, fmt.Errorf("read cpu affinity: %w", err)
	}
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("pin generator to cpu %d: %w", cpu, err)
	}
	// The raw syscall answers 20 - nice.
	raw, err := unix.Getpriority(unix.PRIO_PROCESS, 0)
	if err != nil {
		return nil, fmt.Errorf("read generator priority: %w", err)
	}
	if err := unix.Setpriority(unix.PRIO_PROCESS, 0, -20); err != nil {
		return nil, fmt.Errorf("raise generator priority: %w", err)
	}
	runtime.Gosched()
	return func() {
		_ = unix.Setpriority(unix.PRIO_PROCESS, 0, 20-raw)
		_ = unix.SchedSetaffinity(0, &old)
	}, nil
}
