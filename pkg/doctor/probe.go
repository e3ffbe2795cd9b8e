package doctor

import (
	"errors"
	"fmt"
	"net"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// probeNativeXDP attaches a program that returns XDP_PASS for every packet
// in driver mode and detaches it at once: traffic is never filtered by it.
// Some drivers reconfigure their rings when the first XDP program comes
// or goes, a sub-second pause that --no-xdp-probe avoids.
func probeNativeXDP(ifname string) error {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return err
	}
	prog, err := passProgram()
	if err != nil {
		return err
	}
	defer prog.Close()
	l, err := link.AttachXDP(link.XDPOptions{Program: prog, Interface: ifi.Index, Flags: link.XDPDriverMode})
	if errors.Is(err, unix.EOPNOTSUPP) {
		return fmt.Errorf("%w: %w", ebpf.ErrNotSupported, err)
	}
	if err != nil {
		return err
	}
	return l.Close()
}

// passProgram is an XDP program that passes every packet.
func passProgram() (*ebpf.Program, error) {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name: "palisade_probe",
		Type: ebpf.XDP,
		Instructions: asm.Instructions{
			asm.Mov.Imm(asm.R0, 2), // XDP_PASS
			asm.Return(),
		},
		License: "GPL",
	})
	if err != nil {
		return nil, fmt.Errorf("load probe program: %w", err)
	}
	return prog, nil
}

// probeJIT loads a program (attached nowhere) and asks whether the kernel
// compiled it to machine code.
func probeJIT() (string, error) {
	prog, err := passProgram()
	if err != nil {
		return "", err
	}
	defer prog.Close()
	info, err := prog.Info()
	if err != nil {
		return "", err
	}
	n, err := info.JitedSize()
	if err != nil {
		return "", err
	}
	if n > 0 {
		return "1", nil
	}
	return "0", nil
}
