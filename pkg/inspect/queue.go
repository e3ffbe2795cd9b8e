package inspect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	nfqueue "github.com/florianl/go-nfqueue/v2"
	"github.com/mdlayher/netlink"
)

// queueLen is how many packets the kernel keeps per queue for the
// inspector. When it is full, a fail-closed queue drops and a fail-open
// queue (NFQA_CFG_F_FAIL_OPEN) accepts: the rule's declared failure mode.
const queueLen = 4096

// consumer reads one NFQUEUE queue; go-nfqueue runs one goroutine per queue.
type consumer struct {
	nf  *nfqueue.Nfqueue
	num uint16
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
	c := &consumer{nf: nf, num: num, dec: newDecoder(), t: t, m: m, log: log}
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
			act = c.t.handle(pk, func(accept bool) { c.verdict(id, accept) })
		}
	}
	if act != actHold {
		c.verdict(id, act == actAccept)
	}
	c.m.packet(act, time.Since(start))
	return 0
}

func (c *consumer) verdict(id uint32, accept bool) {
	v := nfqueue.NfDrop
	if accept {
		v = nfqueue.NfAccept
	}
	if err := c.nf.SetVerdict(id, v); err != nil {
		c.log.Error("inspect: set verdict", "queue", c.num, "err", err)
	}
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

func (c *consumer) close() error { return c.nf.Close() }
