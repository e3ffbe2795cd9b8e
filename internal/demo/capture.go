package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/palisade-psn/palisade/internal/agenttest"
	"github.com/palisade-psn/palisade/internal/lab"
	"github.com/palisade-psn/palisade/internal/scenario"
)

// demoCapture records surrey-cc's traffic while it pings an allowed service
// and tries a refused port, then reads the file back with tcpdump: the
// refused SYN is in it, with its verdict in the packet comment.
func demoCapture(gw *lab.Gateway, a *agenttest.Agent) error {
	step("A capture for an incident responder: palisade capture --org surrey-cc --packets 3 -w surrey.pcapng")
	file := filepath.Join(filepath.Dir(a.CfgPath), "surrey.pcapng")
	done := make(chan string, 1)
	go func() {
		out, err := a.CLI("capture", "--org", "surrey-cc", "--packets", "3", "--duration", "30s", "-w", file)
		if err != nil {
			out += err.Error()
		}
		done <- out
	}()
	for i := 0; i < 100; i++ { // bounded: 10 s for the capture to start
		if out, _ := a.CLI("capture", "list"); strings.Contains(out, "running") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	allowed := scenario.Check{Host: "surrey", Kind: "ping", Src: "198.18.1.10", Dst: "198.19.10.10", Allow: true}
	refused := scenario.Check{Host: "surrey", Kind: "tcp", Src: "198.18.1.10", Dst: "198.19.10.10:22"}
	scenario.Try(gw, allowed)
	scenario.TryWithin(gw, refused, 300*time.Millisecond)
	var out string
	select {
	case out = <-done:
	case <-time.After(40 * time.Second):
		return fmt.Errorf("capture did not finish")
	}
	fmt.Print(indent(out))
	step("Read back with tcpdump -r (pcapng; each packet also carries a comment with its organisation and verdict, which Wireshark shows)")
	dump, err := exec.Command("tcpdump", "-n", "-r", file).CombinedOutput()
	fmt.Print(indent(string(dump)))
	if err != nil {
		return fmt.Errorf("tcpdump -r %s: %w", file, err)
	}
	return nil
}
