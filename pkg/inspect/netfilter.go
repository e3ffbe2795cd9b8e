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

// The queue path: how a marked packet reaches the inspector, and what
// keeps a fail-closed one from going anywhere else.
//
//   - Chain, in the mangle table (IPv4 and IPv6), jumped to from
//     PREROUTING for both marks: it re-marks fail-closed packets
//     (markInspect -> markQueued) and queues them, and queues fail-open
//     ones with --queue-bypass.
//   - An ip rule (IPv4 and IPv6, priority BlackholePref) sends every packet
//     still carrying markInspect to a blackhole. Routing runs after
//     PREROUTING, so a fail-closed packet reaches it with markInspect only
//     if it skipped the chain: the chain or its jump was flushed (a
//     firewall reload, `iptables -t mangle -F`, `nft flush ruleset`), or
//     its queue had no reader. Policy routing is not netfilter: no
//     netfilter reload takes it away, and it holds from the first packet
//     XDP marks, before the agent has installed anything else.
//
// Fail-open packets (markInspect|markFailOpen) are routed normally when
// the chain is gone: their rules declared it. The watcher (watch.go)
// restores whatever part goes missing.
const (
	// Chain is the netfilter chain (mangle table) holding the queue rules.
	Chain = "PALISADE-INSPECT"
	// BlackholePref is the priority of the blackhole ip rule: before any
	// routing table, so no policy route can carry the packet elsewhere.
	BlackholePref = 5

	nfTable = "mangle"
	nfHook  = "PREROUTING"
)

// The marks the datapath puts on inspected packets (bpf/abi.h), and the
// one the chain gives fail-closed packets on their way to the queue.
const (
	markInspect  = 0x50a10000
	markFailOpen = 0x1
	markQueued   = 0x50a10002
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
		fmt.Sprintf("-m mark --mark %#x -j MARK --set-mark %#x", markInspect, markQueued),
		fmt.Sprintf("-m mark --mark %#x -j %s", markQueued, queueTarget(clo, chi)),
	}
}

// stoppedRules are left by an agent that stops cleanly: no queue that
// nobody reads, and still the declared failure modes (fail-closed drops,
// counted here; fail-open falls through to the stack's forwarding).
func stoppedRules() []string {
	return []string{fmt.Sprintf("-m mark --mark %#x -j DROP", markInspect)}
}

// install makes the whole queue path: the blackhole rules first, then the
// chain's rules in one iptables-restore transaction per family (so no
// marked packet meets a half-written chain), then the jump to it.
func install(ctx context.Context, rules []string) error {
	if err := ensureBlackholes(); err != nil {
		return err
	}
	for _, fam := range families {
		// Older versions queued from filter/FORWARD: one path only.
		_ = removeChain(ctx, fam, "filter", legacyJump())
		if err := installChain(ctx, fam, rules); err != nil {
			return err
		}
		if err := ensureJump(ctx, fam); err != nil {
			return err
		}
	}
	return nil
}

func installChain(ctx context.Context, fam string, rules []string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "*%s\n:%s - [0:0]\n", nfTable, Chain)
	for _, r := range rules {
		fmt.Fprintf(&b, "-A %s %s\n", Chain, r)
	}
	b.WriteString("COMMIT\n")
	if err := runStdin(ctx, b.String(), fam+"-restore", "--noflush", "-w"); err != nil {
		return fmt.Errorf("install %s rules: %w", fam, err)
	}
	return nil
}

func ensureJump(ctx context.Context, fam string) error {
	jump := jumpRule()
	if run(ctx, fam, append([]string{"-w", "-t", nfTable, "-C"}, jump...)...) == nil {
		return nil
	}
	if err := run(ctx, fam, append([]string{"-w", "-t", nfTable, "-I"}, jump...)...); err != nil {
		return fmt.Errorf("jump from %s to %s (%s): %w", nfHook, Chain, fam, err)
	}
	return nil
}

// jumpRule sends PREROUTING's marked packets, of either failure mode, to Chain.
func jumpRule() []string {
	return []string{nfHook, "-m", "mark", "--mark", fmt.Sprintf("%#x/%#x", markInspect, ^uint32(markFailOpen)), "-j", Chain}
}

// legacyJump is where versions before the mangle chain jumped from.
func legacyJump() []string {
	return []string{"FORWARD", "-m", "mark", "--mark", fmt.Sprintf("%#x/%#x", markInspect, ^uint32(markFailOpen)), "-j", Chain}
}

// CheckQueuePath lists the parts of the queue path missing now, by
// family: the chain (holding no rule: neither queue nor stopped rules),
// the jump to it, the blackhole rule (`palisade doctor`).
func CheckQueuePath(ctx context.Context) ([]string, error) {
	var out []string
	for _, f := range blackholeFamilies {
		ok, err := blackholePresent(f.af)
		if err != nil {
			return nil, err
		}
		if !ok {
			out = append(out, f.name+" blackhole")
		}
	}
	for _, fam := range families {
		save, err := output(ctx, "", fam+"-save", "-t", nfTable)
		if err != nil {
			return nil, err
		}
		if len(chainLines(string(save))) == 0 {
			out = append(out, familyName(fam)+" chain")
		}
		if !hasJump(string(save)) {
			out = append(out, familyName(fam)+" jump")
		}
	}
	return out, nil
}

// QueuePathNow is the queue path as CheckQueuePath finds it now, for
// status when no inspector watches it.
func QueuePathNow(ctx context.Context) QueuePathState {
	missing, err := CheckQueuePath(ctx)
	if err != nil {
		missing = append(missing, err.Error())
	}
	return QueuePathState{Intact: len(missing) == 0, Missing: missing, LastChecked: time.Now()}
}

// Remove takes the chain, its jump and the blackhole rules away
// (`palisade clean`), and the chain of older versions (filter/FORWARD).
func Remove(ctx context.Context) error {
	var errs []error
	for _, fam := range families {
		if _, err := exec.LookPath(fam); err != nil {
			continue // no iptables here: nothing of ours to remove
		}
		errs = append(errs, removeChain(ctx, fam, nfTable, jumpRule()))
		errs = append(errs, removeChain(ctx, fam, "filter", legacyJump()))
	}
	errs = append(errs, removeBlackholes())
	return errors.Join(errs...)
}

func removeChain(ctx context.Context, fam, table string, jump []string) error {
	for range 4 { // bounded: a jump inserted more than once goes too
		if run(ctx, fam, append([]string{"-w", "-t", table, "-D"}, jump...)...) != nil {
			break
		}
	}
	if run(ctx, fam, "-w", "-t", table, "-L", Chain, "-n") != nil {
		return nil
	}
	return errors.Join(run(ctx, fam, "-w", "-t", table, "-F", Chain), run(ctx, fam, "-w", "-t", table, "-X", Chain))
}

func run(ctx context.Context, name string, args ...string) error {
	return runStdin(ctx, "", name, args...)
}

func runStdin(ctx context.Context, stdin, name string, args ...string) error {
	_, err := output(ctx, stdin, name, args...)
	return err
}

func output(ctx context.Context, stdin, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(errb.String()+out.String()))
	}
	return out.Bytes(), nil
}
