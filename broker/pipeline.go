package broker

import (
	"context"
	"errors"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/twin"
)

// Each connection's QoS 0 and 1 publishes are handled off its read
// goroutine, in the order they were read, by a pipeline: Mochi's reader
// queues a publish and reads the next packet at once, and a worker
// goroutine (started when a publish is queued, gone when the queue is
// empty, so an idle connection has none) handles what is queued. It begins
// every queued publish (twin.Core.Begin: checks done, store queued; an
// agent's events, property values and replies), then finishes them in
// order: the stores of a run of events (or replies) commit in one
// transaction, each QoS 1 PUBACK is written once its publish is stored
// (what the hub acknowledged survives a crash, as before), and the fan-out
// of each event follows its PUBACK. A QoS 0 publish is stored all the same,
// without holding up the reader. The reader waits only when the queue is
// full (pipelineDepth publishes or pipelineBytes of payload), which is the
// flow control a client that publishes faster than the hub stores meets.
//
// QoS 2 publishes (rare; their PUBREC/PUBREL exchange is Mochi's) are
// handled on the reader, as before, once the publishes queued ahead of
// them are done; so is the end of a connection (OnDisconnect), so that a
// Will or a presence change follows everything the client published.

// Bounds of one connection's pipeline.
const (
	pipelineDepth = 256     // publishes queued at most
	pipelineBytes = 1 << 20 // payload bytes queued at most (one publish always fits)
)

// pipeline is one connection's queue of publishes read and not yet done.
type pipeline struct {
	h      *Hub
	cl     *mqtt.Client
	topics twin.TopicMemo // the connection's last topic, parsed

	mu      sync.Mutex
	cond    sync.Cond // signalled when publishes are done (space, or empty)
	queue   []*piped
	bytes   int  // payload bytes in queue
	running bool // a worker is handling publishes
}

// piped is a publish in a pipeline: the core's message, converted once,
// and what answering it needs of the packet (the whole packet, kept until
// its turn, was most of the bytes allocated per event).
type piped struct {
	id       authz.Identity
	m        *twin.Message
	qos      byte
	packetID uint16
	finish   func() (func(), error) // set when the reader began it (start)
}

func newPiped(id authz.Identity, pk *packets.Packet, m *twin.Message, finish func() (func(), error)) *piped {
	return &piped{id: id, m: m, qos: pk.FixedHeader.Qos, packetID: pk.PacketID, finish: finish}
}

// packet is what answer and refuse read of the publish.
func (it *piped) packet() packets.Packet {
	return packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: it.qos}, PacketID: it.packetID, TopicName: it.m.Topic}
}

// pipelineOf returns the pipeline of a connection, made on its first
// publish.
func (h *Hub) pipelineOf(cl *mqtt.Client) *pipeline {
	if p, ok := h.pipes.Load(cl); ok {
		return p.(*pipeline)
	}
	p := &pipeline{h: h, cl: cl}
	p.cond.L = &p.mu
	v, _ := h.pipes.LoadOrStore(cl, p)
	return v.(*pipeline)
}

// start handles a publish the reader read. While publishes are queued,
// it is queued as read. While the pipeline is idle the reader begins it
// itself: one that cannot be begun ahead is handled at once, on the
// reader, as without a pipeline, and answered through Mochi (handled
// true, ack the hooks' result); so is a begun one when nothing more of
// the client's is at hand to read (Client.Buffered), the client most
// likely waiting for this answer: a hand-off to the worker would only
// add a goroutine switch to its wait. A begun one with more to read is
// queued for its finish, and the reader goes on.
func (p *pipeline) start(id authz.Identity, pk packets.Packet) (handled bool, ack error) {
	p.mu.Lock()
	idle := !p.running
	p.mu.Unlock()
	if !idle { // only this reader makes the pipeline busy: it stays so
		p.push(newPiped(id, &pk, fromPacket(&pk), nil))
		return false, nil
	}
	h := p.h
	if !h.enter() {
		return true, h.refuseClosing(p.cl, &pk)
	}
	m := fromPacket(&pk)
	finish, begun := h.core.Begin(context.Background(), id, p.cl, &p.topics, m)
	if begun && p.cl.Buffered() > 0 {
		h.leave()
		p.push(newPiped(id, &pk, m, finish))
		return false, nil
	}
	defer h.leave()
	after, err := finish()
	if err != nil {
		return true, h.refuse(p.cl, &pk, err)
	}
	if after != nil {
		h.afterAck.Store(p.cl, after) // run by OnPublished, after the PUBACK
	}
	return true, errHandled
}

// push queues a publish, waiting while the queue is full, and starts a
// worker when none runs.
func (p *pipeline) push(it *piped) {
	p.mu.Lock()
	for len(p.queue) > 0 && (len(p.queue) >= pipelineDepth || p.bytes+len(it.m.Payload) > pipelineBytes) {
		p.cond.Wait()
	}
	p.queue = append(p.queue, it)
	p.bytes += len(it.m.Payload)
	start := !p.running
	p.running = true
	p.mu.Unlock()
	if start {
		go p.work()
	}
}

// drain waits until every publish queued is done.
func (p *pipeline) drain() {
	p.mu.Lock()
	for p.running {
		p.cond.Wait()
	}
	p.mu.Unlock()
}

// drainPipeline waits for a connection's queued publishes, if it has a
// pipeline; end also forgets the pipeline (the connection is over).
func (h *Hub) drainPipeline(cl *mqtt.Client, end bool) {
	v, ok := h.pipes.Load(cl)
	if !ok {
		return
	}
	v.(*pipeline).drain()
	if end {
		h.pipes.Delete(cl)
	}
}

// work handles queued publishes until the queue is empty.
func (p *pipeline) work() {
	for {
		p.mu.Lock()
		batch := p.queue
		if len(batch) == 0 {
			p.running = false
			p.cond.Broadcast()
			p.mu.Unlock()
			return
		}
		p.queue = nil
		p.mu.Unlock()

		p.handle(batch)

		p.mu.Lock()
		for _, it := range batch {
			p.bytes -= len(it.m.Payload)
		}
		p.cond.Broadcast()
		p.mu.Unlock()
	}
}

// handle begins the publishes of a batch in order and finishes them in
// order; a publish that cannot be begun ahead (twin.Core.Begin) is handled
// after those before it finished.
func (p *pipeline) handle(batch []*piped) {
	h := p.h
	if !h.enter() {
		// The hub is closing: nothing more is handled or acknowledged (a
		// store the reader queued may still commit: the client publishes
		// again, and gets the event at least once).
		for _, it := range batch {
			pk := it.packet()
			p.answer(&pk, h.refuseClosing(p.cl, &pk), nil)
		}
		return
	}
	defer h.leave()
	type begun struct {
		it     *piped
		finish func() (func(), error)
	}
	pending := make([]begun, 0, len(batch))
	// The PUBACKs of a run go out together, in one write(2) with the
	// client's other buffered writes, when the run ends (patched Mochi's
	// HoldWrites): one each cost a system call per publish. Each PUBACK
	// still follows its commit, and the fan-out of an event follows its
	// PUBACK in the client's own stream.
	finishAll := func() {
		if len(pending) > 1 {
			p.cl.HoldWrites()
			defer func() { _ = p.cl.ReleaseWrites() }()
		}
		for _, b := range pending {
			after, err := b.finish()
			p.done(b.it, after, err)
		}
		pending = pending[:0]
	}
	for _, it := range batch {
		finish, early := it.finish, true
		if finish == nil {
			finish, early = h.core.Begin(context.Background(), it.id, p.cl, &p.topics, it.m)
		}
		if !early {
			finishAll()
		}
		pending = append(pending, begun{it, finish})
		if !early {
			finishAll()
		}
	}
	finishAll()
}

// done answers a publish the core handled: its PUBACK (a refusal's
// reason code when err is set), then the work that waited for it.
func (p *pipeline) done(it *piped, after func(), err error) {
	ack := errHandled
	pk := it.packet()
	if err != nil {
		ack = p.h.refuse(p.cl, &pk, err)
	}
	p.answer(&pk, ack, after)
}

// answer writes what Mochi would have written for a publish given the
// hooks' result ack (see refuse): a PUBACK for QoS 1, with ack's reason
// code when it is a packets.Code, none when it is ErrRejectPacket. Then it
// runs after. A PUBACK that cannot be written (the connection ended) still
// lets after deliver what was stored.
func (p *pipeline) answer(pk *packets.Packet, ack error, after func()) {
	rejected := ack == errPiped || (ack != errHandled && errors.Is(ack, packets.ErrRejectPacket))
	if pk.FixedHeader.Qos == 1 && !rejected {
		rc := packets.CodeSuccess
		if code, ok := reasonOf(ack); ok && code.Code >= packets.ErrUnspecifiedError.Code {
			rc = code
		}
		out := packets.Packet{
			FixedHeader: packets.FixedHeader{Type: packets.Puback},
			PacketID:    pk.PacketID,
			ReasonCode:  rc.Code,
		}
		if rc.Code >= packets.ErrUnspecifiedError.Code {
			out.Properties.ReasonString = rc.Reason
		}
		_ = p.cl.WritePacket(out)
	}
	if after != nil {
		after()
	}
}

// errHandled is packets.CodeSuccessIgnore boxed once (a Code value made
// an error allocates).
var errHandled error = packets.CodeSuccessIgnore

// reasonOf is the packets.Code in err, if any.
func reasonOf(err error) (packets.Code, bool) {
	if err == errHandled {
		return packets.CodeSuccessIgnore, true
	}
	if c, ok := err.(packets.Code); ok {
		return c, true
	}
	var c packets.Code
	return c, errors.As(err, &c)
}
