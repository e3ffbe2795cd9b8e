package inspect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Chain is the netfilter chain (filter table, IPv4 and IPv6) holding the
// inspector's rules; FORWARD jumps to it for marked packets.
const Chain = "PALISADE-INSPECT"

// The marks the datapath puts on inspected packets (bpf/abi.h).
const (
	markInspect  = 0x50a10000
	markFailOpen = 0x1
)

var families = []string{"iptables", "ip6tables"}

// Queues are the NFQUEUE numbers: fail-closed flows go to the first N,
// fail-open flows to the N after them, each spread by flow hash.
type Queues struct {
	First uint16
	N     uint16
}

func (q Queues) closed() (lo, hi uint16) { return q.First, q.First + q.N - 1 }
func (q Queues) open() (lo, hi uint16)   { return q.First + q.N, q.First + 2*q.N - 1 }

func queueTarget(lo, hi uint16) string {
	if lo == hi {
		return fmt.Sprintf("NFQUEUE --queue-num %d", lo)
	}
	return fmt.Sprintf("NFQUEUE --queue-balance %d:%d", lo, hi)
}

// runningRules queue marked packets. Fail-closed ones have no bypass: with
// no consumer bound, the kernel drops them. Fail-open ones pass then.
func (q Queues) runningRules() []string {
	clo, chi := q.closed()
	olo, ohi := q.open()
	return []string{
		fmt.Sprintf("-m mark --mark %#x -j %s --queue-bypass", markInspect|markFailOpen, queueTarget(olo, ohi)),
		fmt.Sprintf("-m mark --mark %#x -j %s", markInspect, queueTarget(clo, chi)),
	}
}

// stoppedRules are left by an agent that stops cleanly: no queue that
// nobody reads, and still the declared failure modes (fail-closed drops,
// fail-open falls through to the stack's forwarding).
func stoppedRules() []string {
	return []string{fmt.Sprintf("-m mark --mark %#x -j DROP", markInspect)}
}

// install replaces the chain's rules in one iptables-restore transaction
// per family, so no marked packet ever meets a half-written chain, and
// makes sure FORWARD jumps to it.
func install(ctx context.Context, rules []string) error {
	for _, fam := range families {
		var b strings.Builder
		fmt.Fprintf(&b, "*filter\n:%s - [0:0]\n", Chain)
		for _, r := range rules {
			fmt.Fprintf(&b, "-A %s %s\n", Chain, r)
		}
		b.WriteString("COMMIT\n")
		if err := runStdin(ctx, b.String(), fam+"-restore", "--noflush", "-w"); err != nil {
			return fmt.Errorf("install %s rules: %w", fam, err)
		}
		jump := jumpRule()
		if run(ctx, fam, append([]string{"-w", "-C"}, jump...)...) != nil {
			if err := run(ctx, fam, append([]string{"-w", "-I"}, jump...)...); err != nil {
				return fmt.Errorf("jump from FORWARD to %s (%s): %w", Chain, fam, err)
			}
		}
	}
	return nil
}

// jumpRule sends FORWARD's marked packets, of either failure mode, to Chain.
func jumpRule() []string {
	return []string{"FORWARD", "-m", "mark", "--mark", fmt.Sprintf("%#x/%#x", markInspect, ^uint32(markFailOpen)), "-j", Chain}
}

// Remove takes the chain and its jump away (`palisade clean`).
func Remove(ctx context.Context) error {
	var errs []error
	for _, fam := range families {
		if _, err := exec.LookPath(fam); err != nil {
			continue // no iptables here: nothing of ours to remove
		}
		jump := jumpRule()
		for range 4 { // bounded: a jump inserted more than once goes too
			if run(ctx, fam, append([]string{"-w", "-D"}, jump...)...) != nil {
				break
			}
		}
		if run(ctx, fam, "-w", "-L", Chain, "-n") == nil {
			errs = append(errs, run(ctx, fam, "-w", "-F", Chain), run(ctx, fam, "-w", "-X", Chain))
		}
	}
	return errors.Join(errs...)
}

func run(ctx context.Context, name string, args ...string) error {
	return runStdin(ctx, "", name, args...)
}

func runStdin(ctx context.Context, stdin, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}
