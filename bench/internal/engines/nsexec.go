package engines

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/palisade-psn/palisade/internal/lab"
)

// cmdTimeout bounds a quick command; loads of large rule sets get their own.
const cmdTimeout = 15 * time.Second

// run runs a command inside ns with stdin, bounded by timeout, and puts
// its output in the error: iptables and nft explain failures only there.
func run(ns *lab.NS, timeout time.Duration, stdin io.Reader, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
	cmd.Stdin = stdin
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		return out, fmt.Errorf("%s %s in %s: took longer than %v", name, strings.Join(args, " "), ns.Name, timeout)
	}
	if err != nil {
		return out, fmt.Errorf("%s %s in %s: %w: %s", name, strings.Join(args, " "), ns.Name, err, trim(out))
	}
	return out, nil
}

func trim(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 400 {
		s = s[:400] + "..."
	}
	return s
}

// SumQueues adds a per-queue counter over queues: <dir>_queue_<n>_<name>.
func SumQueues(stats map[string]uint64, dir, name string) uint64 {
	var n uint64
	for k, v := range stats {
		rest, ok := strings.CutPrefix(k, dir+"_queue_")
		if !ok {
			continue
		}
		if _, counter, ok := strings.Cut(rest, "_"); ok && counter == name {
			n += v
		}
	}
	return n
}
