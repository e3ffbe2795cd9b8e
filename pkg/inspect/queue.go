package inspect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"syscall"
	"time"

	nfqueue "github.com/florianl/go-nfqueue/v2"
	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// queueLen is how many packets the kernel keeps per queue for the
// inspector. When it is full, a fail-closed queue drops and a fail-open
// queue (NFQA_CFG_F_FAIL_OPEN) accepts: the rule's declared failure mode.
const queueLen = 4096

// socketBuffer is the receive buffer of a queue's netlink socket: room for
// a full queue of small packets (a burst of handshakes) and ~2,000 of
// 1,500 bytes. The default (rmem_default, ~200 KiB) holds a few hundred;
// past it the kernel drops queued packets although the queue has room.
const socketBuffer = 8 << 20

// consumer reads one NFQUEUE queue; go-nfqueue runs one goroutine per queue.
type consumer struct {
	nf  *nfqueue.Nfqueue
	num uint16
	v   *verdicts
	dec *decoder
	t   *tracker
	m   *Metrics
	log *slog.Logger
}

func openConsumer(ctx context.Context, num uint16, failOpen bool, t *tracker, m *Metrics, log *slog.Logger) (*consumer, error) {
	var flags uint32
	if failOpen {
		flags = nfqueue.NfQaCfgFlagFailOpen
	}
	nf, err := nfqueue.Open(&nfqueue.Config{
		NfQueue:      num,
		MaxPacketLen: 0xffff,
		MaxQueueLen:  queueLen,
		Copymode:     nfqueue.NfQnlCopyPacket,
		Flags:        flags,
		WriteTimeout: time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("open nfqueue %d: %w", num, err)
	}
	// A burst that overflows the socket must not end the consumer.
	if err := nf.SetOption(netlink.NoENOBUFS, true); err != nil {
		nf.Close()
		return nil, fmt.Errorf("nfqueue %d: set NETLINK_NO_ENOBUFS: %w", num, err)
	}
	if err := forceReadBuffer(nf.Con, socketBuffer); err != nil {
		nf.Close()
		return nil, fmt.Errorf("nfqueue %d: receive buffer: %w", num, err)
	}
	c := &consumer{nf: nf, num: num, v: newVerdicts(nf, num, m, log), dec: newDecoder(), t: t, m: m, log: log}
	if err := nf.RegisterWithErrorFunc(ctx, c.packet, c.readError(ctx)); err != nil {
		nf.Close()
		return nil, fmt.Errorf("bind nfqueue %d: %w", num, err)
	}
	return c, nil
}

// packet is called for each queued packet, on the queue's goroutine.
func (c *consumer) packet(a nfqueue.Attribute) int {
	start := time.Now()
	if a.PacketID == nil {
		return 0
	}
	id := *a.PacketID
	act := actDrop
	if a.Payload != nil {
		if pk, ok := c.dec.decode(*a.Payload); ok {
			act = c.t.handle(pk, func(accept bool) { c.v.release(id, accept) })
		}
	}
	c.v.give(id, act)
	c.m.packet(act, time.Since(start))
	return 0
}

// readError keeps the consumer reading through transient errors; it stops
// when the inspector does.
func (c *consumer) readError(ctx context.Context) nfqueue.ErrorFunc {
	return func(err error) int {
		if ctx.Err() != nil {
			return 1
		}
		var op *netlink.OpError
		if !errors.As(err, &op) || !op.Timeout() {
			c.log.Error("inspect: read nfqueue", "queue", c.num, "err", err)
			time.Sleep(10 * time.Millisecond) // no busy loop on a broken socket
		}
		return 0
	}
}

// close sends the verdicts still pending, then unbinds the queue.
func (c *consumer) close() error {
	c.v.close()
	return c.nf.Close()
}

// forceReadBuffer sets a socket's receive buffer past net.core.rmem_max
// (SO_RCVBUFFORCE: the agent runs with CAP_NET_ADMIN).
func forceReadBuffer(c syscall.Conn, bytes int) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, bytes)
	}); err != nil {
		return err
	}
	return serr
}
