package inspect

import (
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	nfqueue "github.com/florianl/go-nfqueue/v2"
	"github.com/palisade-psn/palisade/internal/lab"
)

// The kernel's own NFQUEUE behind the batcher: datagrams on a namespace's
// loopback are queued, and each is accepted, dropped or held (then
// released from another goroutine) by its sequence number. Exactly the
// accepted and released-as-accepted ones must arrive, and the burst must
// have been batched.
func TestVerdictsWithKernelQueue(t *testing.T) {
	if _, err := exec.LookPath("iptables"); err != nil {
		t.Skip("needs iptables")
	}
	const (
		qnum  = 4377
		port  = 7777
		count = 2000
	)
	ns, err := lab.NewT(t).NS("nfq")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := ns.Exec(context.Background(), "iptables", "-w", "-A", "OUTPUT", "-o", "lo", "-p", "udp",
		"--dport", "7777", "-j", "NFQUEUE", "--queue-num", "4377"); err != nil {
		t.Fatalf("queue rule: %v: %s", err, out)
	}
	var rx net.PacketConn
	if err := ns.Do(func() (err error) { rx, err = net.ListenPacket("udp4", "127.0.0.1:7777"); return err }); err != nil {
		t.Fatal(err)
	}
	defer rx.Close()
	// Room for the whole burst: a batch verdict delivers many at once.
	if err := forceReadBuffer(rx.(*net.UDPConn), 8<<20); err != nil {
		t.Fatal(err)
	}

	want := map[uint32]bool{}
	for i := range uint32(count) {
		want[i] = outcome(i)
	}
	var nf *nfqueue.Nfqueue
	err = ns.Do(func() (err error) {
		nf, err = nfqueue.Open(&nfqueue.Config{NfQueue: qnum, MaxPacketLen: 256, MaxQueueLen: queueLen,
			Copymode: nfqueue.NfQnlCopyPacket, WriteTimeout: time.Second})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer nf.Close()
	if err := forceReadBuffer(nf.Con, socketBuffer); err != nil {
		t.Fatal(err)
	}
	sender := &countingSender{verdictSender: nf}
	v := newVerdicts(sender, qnum, newMetrics(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	var releases sync.WaitGroup
	defer releases.Wait()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err = nf.RegisterWithErrorFunc(ctx, func(a nfqueue.Attribute) int {
		if a.PacketID == nil || a.Payload == nil || len(*a.Payload) < 32 {
			return 0
		}
		id, seq := *a.PacketID, binary.BigEndian.Uint32((*a.Payload)[28:])
		switch {
		case seq%500 == 7: // held, released 2 ms later from elsewhere
			v.give(id, actHold)
			releases.Add(1)
			time.AfterFunc(2*time.Millisecond, func() { defer releases.Done(); v.release(id, want[seq]) })
		case want[seq]:
			v.give(id, actAccept)
		default:
			v.give(id, actDrop)
		}
		return 0
	}, func(error) int { return 0 })
	if err != nil {
		t.Fatal(err)
	}

	got := receive(t, rx)
	err = ns.Do(func() error {
		c, err := net.Dial("udp4", "127.0.0.1:7777")
		if err != nil {
			return err
		}
		defer c.Close()
		b := make([]byte, 4)
		for i := range uint32(count) {
			binary.BigEndian.PutUint32(b, i)
			if _, err := c.Write(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	arrived := <-got
	for seq, accept := range want {
		if arrived[seq] != accept {
			t.Errorf("datagram %d arrived %v, its verdict was accept=%v", seq, arrived[seq], accept)
		}
	}
	if sender.batches.Load() == 0 {
		t.Errorf("%d datagrams in a burst, no batch verdict", count)
	}
	t.Logf("verdict messages: %d single, %d batch", sender.singles.Load(), sender.batches.Load())
}

type countingSender struct {
	verdictSender
	singles, batches atomic.Int64
}

func (c *countingSender) SetVerdict(id uint32, verdict int) error {
	c.singles.Add(1)
	return c.verdictSender.SetVerdict(id, verdict)
}

func (c *countingSender) SetVerdictBatch(id uint32, verdict int) error {
	c.batches.Add(1)
	return c.verdictSender.SetVerdictBatch(id, verdict)
}

// outcome: every 10th dropped; of the held ones (seq%500 == 7), every
// other one released as a drop.
func outcome(seq uint32) bool {
	if seq%500 == 7 {
		return seq%1000 == 7
	}
	return seq%10 != 3
}

// receive collects sequence numbers until none came for 500 ms (at most 20 s).
func receive(t *testing.T, rx net.PacketConn) <-chan map[uint32]bool {
	out := make(chan map[uint32]bool, 1)
	go func() {
		seen := map[uint32]bool{}
		b := make([]byte, 64)
		for end := time.Now().Add(20 * time.Second); time.Now().Before(end); {
			rx.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			n, _, err := rx.ReadFrom(b)
			if err != nil {
				if len(seen) > 0 {
					break
				}
				continue
			}
			if n == 4 {
				seen[binary.BigEndian.Uint32(b)] = true
			}
		}
		out <- seen
	}()
	return out
}
